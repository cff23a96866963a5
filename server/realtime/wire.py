"""Socket.IO on the wire: a broadcast is encoded once and written as one websocket frame to every
recipient, as Node's socket.io does with its pre-encoded frames.

python-socketio sends a room event by starting a task per recipient, each queueing the packet for
that client's Engine.IO writer task, which builds and (by default) deflates its own websocket
frame. Measured here that is about 0.1 ms of CPU per recipient, so 200 ms for a 2,000-viewer room.
Server-to-client websocket frames are not masked, so the frame for a text message is the same
bytes for everyone: this module builds it once and writes it straight to each client's transport
(a few microseconds each), and does the same for a single client's packets (acks, per-user
events). It falls back to Engine.IO's own queue for anything it cannot write in order at once: a
client still on HTTP long-polling or mid-upgrade, one with packets already queued, one whose
connection is backed up (its bytes wait in the kernel, not here), binary payloads, and events
that expect an acknowledgement.

Websocket compression is off for Socket.IO: a per-message deflate per recipient is exactly the
per-recipient cost this avoids, and the events are small JSON.

With Redis, emits still go through python-socketio's pub/sub manager (every node delivers to its
own clients); publishes made in the same loop turn leave in one pipeline on one connection,
instead of one connection each when hundreds are made at once, and an emit does not wait for
its publish. A node skips its own messages coming back from Redis without decoding them.

JSON is orjson: about five times faster than the standard library both ways here, and it writes
Chinese as UTF-8 (3 bytes a character) rather than \\uXXXX escapes (6).

What the official client can send and the server does not take is refused where it arrives, with
an answer the client can read: a binary attachment (events are JSON text), a second argument
(events carry one payload) or JSON that does not decode gets an `invalid_input` ack, an event
nobody handles `unknown_event`, an unknown namespace a `connect_error` with a message. A lone UTF-16 surrogate (half an emoji, valid JSON that orjson refuses) is dropped
from the text, and a long-polling payload carries as many packets as fit in its size limit
(python-engineio's own cap, 16, dropped the rest unseen).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import struct
from typing import Any

import engineio
import orjson
import socketio
from aiohttp.web import WebSocketResponse
from engineio import packet as eio_packet
from engineio import payload as eio_payload
from engineio.async_drivers import aiohttp as eio_aiohttp
from socketio import packet as sio_packet

from ..turn_batch import TurnBatch
from .events import error_reply

logger = logging.getLogger(__name__)

# A client whose transport holds more than this many unsent bytes gets its packets through the
# Engine.IO queue (whose writer waits for the connection to drain), so nothing overtakes them.
BACKED_UP_BYTES = 0


class OrJson:
    """The `json` module interface python-socketio and python-engineio call."""

    @staticmethod
    def dumps(obj: Any, **_: Any) -> str:
        return orjson.dumps(obj, option=orjson.OPT_NON_STR_KEYS).decode()

    @staticmethod
    def loads(s: str | bytes, **_: Any) -> Any:
        try:
            return orjson.loads(s)
        except orjson.JSONDecodeError as exc:
            return _without_lone_surrogates(s, exc)


# A JSON string escape, as a unit: an escaped backslash (so that the JSON text "\\\\ud83c", a
# backslash and then letters, is not read as an escape), a surrogate pair (one character), or a
# lone surrogate (group 1).
_ESCAPE = re.compile(r"\\(?:\\|u[dD][89abAB][0-9a-fA-F]{2}\\u[dD][c-fC-F][0-9a-fA-F]{2}|(u[dD][89a-fA-F][0-9a-fA-F]{2}))")


def _without_lone_surrogates(s: str | bytes, error: orjson.JSONDecodeError) -> Any:
    """The JSON that orjson refused for a lone UTF-16 surrogate escape, read without it.

    JavaScript strings are UTF-16: `"好甜🍅".slice(0, -1)` keeps half the emoji, and JSON.stringify
    writes it as "\\ud83c", valid JSON that orjson refuses and that no UTF-8 text (the database,
    every reply) can hold. Half a character is not text, so it goes, as the chat's text cleaning
    drops it; everything else is read exactly as orjson reads it. Any other error stands.
    """
    try:
        text = s.decode() if isinstance(s, bytes) else s
    except UnicodeDecodeError:
        raise error from None
    cleaned = _ESCAPE.sub(lambda m: "" if m.group(1) else m.group(0), text)
    if cleaned == text:
        raise error
    logger.info("dropped a lone UTF-16 surrogate from a Socket.IO payload")
    return orjson.loads(cleaned)


def text_frame(text: str) -> bytes:
    """One unmasked, uncompressed, final websocket text frame (RFC 6455 section 5.2)."""
    payload = text.encode()
    n = len(payload)
    if n < 126:
        header = struct.pack("!BB", 0x81, n)
    elif n < 65536:
        header = struct.pack("!BBH", 0x81, 126, n)
    else:
        header = struct.pack("!BBQ", 0x81, 127, n)
    return header + payload


class _WebSocket(eio_aiohttp.WebSocket):  # type: ignore[misc]
    """Engine.IO's aiohttp websocket, uncompressed, and known to its socket for direct writes.

    Engine.IO's writer task takes packets off the socket's queue and then writes them; a frame
    written directly in between would overtake them. So the socket counts the packets its writer
    has taken and not yet written (`fc_holding`): counted inside the queue's get, the moment a
    packet leaves the queue, and uncounted here once written.
    """

    async def __call__(self, environ: dict[str, Any]) -> WebSocketResponse:
        request = environ["aiohttp.request"]
        self._sock = WebSocketResponse(max_msg_size=self.server.max_http_buffer_size, compress=False)
        await self._sock.prepare(request)
        self.environ = environ
        socket = getattr(self.handler, "__self__", None)
        if socket is not None:
            _track(socket)
            socket.fc_ws = self._sock
            socket.fc_transport = request.transport
        self.socket = socket
        self.fc_event = getattr(self.server, "fc_event", None) if socket is not None else None
        await self.handler(self)
        return self._sock

    async def wait(self) -> str | bytes:
        """The next message for Engine.IO's read loop. Socket.IO events that the fast path takes
        (see Server._fast_event) are dispatched here and the read goes on: Engine.IO's loop
        starts a task and a timeout for every message it waits for, then decodes the packet
        twice on its way to the handler, which cost more than many of the handlers."""
        fast = self.fc_event
        while True:
            msg = await self._sock.receive()
            data = msg.data
            if isinstance(data, str):
                if fast is not None and data.startswith("42") and fast(self.socket, data):
                    continue
                return data
            if isinstance(data, bytes):
                return data
            raise OSError()

    async def send(self, message: str | bytes) -> None:
        await super().send(message)
        socket = self.socket
        if socket is not None and socket.fc_holding > 0:
            socket.fc_holding -= 1


def _track(socket: Any) -> None:
    """Counts packets taken off the socket's queue for the websocket writer (see _WebSocket).

    asyncio.Queue.get takes its item through get_nowait, so counting there counts every packet
    the moment it leaves the queue, whichever way it was asked for.
    """
    queue = socket.queue
    get_nowait = queue.get_nowait
    socket.fc_holding = 0

    def counted_get_nowait() -> Any:
        item = get_nowait()
        if socket.upgraded:  # before the upgrade, packets leave by HTTP long-polling
            socket.fc_holding += 1
        return item

    queue.get_nowait = counted_get_nowait


def _direct(socket: Any) -> Any:
    """The transport to write this client's next frame to now, or None to use its queue."""
    ws: WebSocketResponse | None = getattr(socket, "fc_ws", None)
    if ws is None or not socket.upgraded or socket.upgrading or socket.closing or socket.closed:
        return None
    transport = socket.fc_transport
    if (
        socket.fc_holding
        or not socket.queue.empty()
        or ws.closed
        or transport is None
        or transport.is_closing()
        or transport.get_write_buffer_size() > BACKED_UP_BYTES
    ):
        return None
    return transport


class EngineServer(engineio.AsyncServer):  # type: ignore[misc]
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # A long-polling client sends everything queued during a request as one payload of up to
        # maxPayload (max_http_buffer_size) bytes. python-engineio refuses a payload of more than
        # Payload.max_decode_packets packets (16), logs it and still answers 200, so the client
        # never learns that its events were dropped. The size is the bound that matters (past it
        # the answer is 400): a packet takes at least two bytes with its separator, so every
        # payload within the size is decoded whole. The cap is python-engineio's, process-wide.
        fits = (self.max_http_buffer_size + 1) // 2
        if eio_payload.Payload.max_decode_packets < fits:
            eio_payload.Payload.max_decode_packets = fits
        if self.async_mode == "aiohttp":
            drivers: dict[str, Any] = self._async  # type: ignore[has-type]
            self._async = {**drivers, "websocket": _WebSocket}

    def write_frame(self, eio_sid: str, frame: bytes) -> bool:
        """Writes a prepared frame to this client now if nothing is ahead of it; False if not."""
        socket = self.sockets.get(eio_sid)
        if socket is None:
            return False
        transport = _direct(socket)
        if transport is None:
            return False
        transport.write(frame)
        return True

    async def send_packet(self, sid: str, pkt: Any) -> None:
        if not pkt.binary and self.write_frame(sid, text_frame(pkt.encode())):
            return
        await super().send_packet(sid, pkt)


class UnreadablePacket(ValueError):
    """A client's Socket.IO packet that does not decode; says which ack it asked for, if any."""

    def __init__(self, reason: str, ack: int | None, namespace: str | None) -> None:
        super().__init__(reason)
        self.ack = ack
        self.namespace = namespace


class TextPacket(sio_packet.Packet):  # type: ignore[misc]
    """Fieldcast's events are JSON text, never bytes: python-socketio's walk of every payload
    looking for bytes (~10% of a claim's CPU) is skipped, and bytes would fail to encode. A client's
    binary event is refused (Server._refuse_binary), never handed to a handler."""

    uses_binary_events = False

    def decode(self, encoded_packet: str | bytes) -> int:
        # The type, namespace and ack id come before the JSON: known when the JSON fails, so the
        # client can be answered instead of left waiting.
        try:
            count: int = super().decode(encoded_packet)
        except ValueError as exc:
            asked = self.packet_type in (sio_packet.EVENT, sio_packet.BINARY_EVENT)
            raise UnreadablePacket(str(exc)[:200], self.id if asked else None, self.namespace) from exc
        return count


# Handler names python-socketio calls itself; a client's event of that name is not one.
_RESERVED = frozenset(socketio.AsyncServer.reserved_events)


class Server(socketio.AsyncServer):  # type: ignore[misc]
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.eio.fc_event = self._fast_event
        self._fast_tasks: set[asyncio.Task[None]] = set()
        self._is_async: dict[Any, bool] = {}
        # Engine.IO sid -> binary attachments still to come for a refused binary packet.
        self._attachments_left: dict[str, int] = {}

    def _engineio_server_class(self) -> type[engineio.AsyncServer]:
        return EngineServer

    def _fast_event(self, socket: Any, text: str) -> bool:
        """Dispatch a Socket.IO event that arrived on a websocket, as python-socketio would
        (a task per event running its handler, then the ack if one was asked for), or return
        False to leave it to python-socketio: anything but an event with one payload for the
        default namespace with a coroutine handler of its own from a connected client, or a packet
        over the size limit (Engine.IO refuses those), or JSON that orjson refuses as it is."""
        if not socket.upgraded or socket.upgrading or len(text) > self.eio.max_http_buffer_size:
            return False
        # "4" Engine.IO message, "2" Socket.IO event, then an ack id if one is wanted, then the
        # JSON array; a namespace ("42/shop,...") goes the long way.
        start = 2
        while start < len(text) and text[start].isdigit():
            start += 1
        if start == len(text) or text[start] != "[":
            return False
        try:
            data = orjson.loads(text[start:])
        except orjson.JSONDecodeError:
            return False
        if not data or not isinstance(data[0], str) or len(data) > 2 or "/" in self.namespace_handlers:
            return False
        handler = self.handlers.get("/", {}).get(data[0])
        if handler is None or data[0] in _RESERVED:  # "connect" is python-socketio's to call
            return False
        is_async = self._is_async.get(handler)
        if is_async is None:
            is_async = self._is_async[handler] = asyncio.iscoroutinefunction(handler)
        sid = self.manager.sid_from_eio_sid(socket.sid, "/")
        if not is_async or sid is None or not self.manager.is_connected(sid, "/"):
            return False
        ack = int(text[2:start]) if start > 2 else None
        task = asyncio.get_running_loop().create_task(self._run_fast(handler, sid, socket.sid, ack, data[1:]))
        self._fast_tasks.add(task)
        task.add_done_callback(self._fast_tasks.discard)
        return True

    async def _handle_eio_message(self, eio_sid: str, data: str | bytes) -> None:
        left = self._attachments_left.get(eio_sid)
        if left is not None:  # an attachment of a refused binary packet: it goes with it
            if left > 1:
                self._attachments_left[eio_sid] = left - 1
            else:
                del self._attachments_left[eio_sid]
            return
        try:
            if isinstance(data, str) and data[:1] in ("5", "6"):  # BINARY_EVENT, BINARY_ACK
                await self._refuse_binary(eio_sid, data)
            else:
                await super()._handle_eio_message(eio_sid, data)
        except UnreadablePacket as exc:
            await self._refuse(eio_sid, exc.namespace, exc.ack, None, f"the packet is not readable JSON ({exc})")

    async def _refuse_binary(self, eio_sid: str, data: str) -> None:
        """Events are JSON text. python-socketio would put the attachments back in place as bytes,
        and pydantic's lax mode reads bytes as a str: `{text: Buffer}` would be stored and
        broadcast. So a binary packet is refused whole, with an `invalid_input` ack when asked."""
        pkt = self.packet_class(encoded_packet=data)
        if pkt.attachment_count:
            self._attachments_left[eio_sid] = pkt.attachment_count
        ack = pkt.id if pkt.packet_type == sio_packet.BINARY_EVENT else None
        await self._refuse(eio_sid, pkt.namespace, ack, pkt.data, "events are JSON text: binary attachments are refused")

    async def _handle_event(self, eio_sid: str, namespace: str | None, id: int | None, data: Any) -> None:
        refusal = self._unanswerable(namespace or "/", data)
        if refusal is not None:
            await self._refuse(eio_sid, namespace, id, data, refusal[1], code=refusal[0])
            return
        await super()._handle_event(eio_sid, namespace, id, data)

    def _unanswerable(self, namespace: str, data: Any) -> tuple[str, str] | None:
        """Why python-socketio would leave this event without an ack (a handler it cannot call,
        or none at all), as (code, message); None if it will answer."""
        if not isinstance(data, list) or not data or not isinstance(data[0], str):
            return "invalid_input", "an event is a JSON array: [name, payload]"
        name = data[0]
        if name in _RESERVED or (
            self._get_event_handler(name, namespace, ())[0] is None
            and self._get_namespace_handler(namespace, ())[0] is None
        ):
            return "unknown_event", f"there is no event {name[:64]!r}"
        # Every Fieldcast event carries one payload (Realtime.on); with more, the handler's call
        # would fail with a TypeError.
        if len(data) > 2:
            return "invalid_input", f"an event takes one payload argument, not {len(data) - 1}"
        return None

    async def _refuse(
        self, eio_sid: str, namespace: str | None, ack: int | None, data: Any, message: str, code: str = "invalid_input"
    ) -> None:
        """Logs a refused packet and answers `{"error": code, ...}` if the client asked for an ack."""
        namespace = namespace or "/"
        sid = self.manager.sid_from_eio_sid(eio_sid, namespace)
        event = data[0] if isinstance(data, list) and data and isinstance(data[0], str) else "?"
        logger.warning("Socket.IO %s refused: %s", event[:64], message, extra={"sid": sid, "error": code})
        if ack is not None and sid is not None and self.manager.is_connected(sid, namespace):
            reply = [error_reply(code, message)]
            await self._send_packet(eio_sid, self.packet_class(sio_packet.ACK, namespace=namespace, id=ack, data=reply))

    async def _handle_eio_disconnect(self, eio_sid: str, reason: Any) -> None:
        self._attachments_left.pop(eio_sid, None)
        await super()._handle_eio_disconnect(eio_sid, reason)

    async def _handle_connect(self, eio_sid: str, namespace: str | None, data: Any) -> None:
        """python-socketio refuses an unknown namespace with a bare string, where the 4.x
        clients read `data.message` (an empty error): the refusal says which namespace."""
        ns = namespace or "/"
        if not (ns in self.handlers or ns in self.namespace_handlers or self.namespaces == "*" or ns in self.namespaces):
            logger.warning("Socket.IO connect to unknown namespace %s refused", ns[:64])
            known = ", ".join(sorted({*self.handlers, *self.namespace_handlers}))
            message = {"message": f"no namespace {ns[:64]} here (this server has: {known})"}
            await self._send_packet(eio_sid, self.packet_class(sio_packet.CONNECT_ERROR, data=message, namespace=ns))
            return
        await super()._handle_connect(eio_sid, namespace, data)

    async def _run_fast(self, handler: Any, sid: str, eio_sid: str, ack: int | None, args: list[Any]) -> None:
        try:
            result = await handler(sid, *args)
        except asyncio.CancelledError:
            result = None
        except Exception:
            logger.exception("Socket.IO handler failed", extra={"sid": sid})
            return
        if ack is not None:
            data = [] if result is None else list(result) if isinstance(result, tuple) else [result]
            await self._send_packet(eio_sid, self.packet_class(sio_packet.ACK, namespace="/", id=ack, data=data))


class LocalFanout(socketio.AsyncManager):  # type: ignore[misc]
    """Delivers an emit to this node's clients: one frame, written to each."""

    async def emit(
        self, event: str, data: Any, namespace: str, room: Any = None, skip_sid: Any = None,
        callback: Any = None, to: Any = None, **kwargs: Any,
    ) -> None:
        room = to or room
        if callback is not None or namespace not in self.rooms:
            await super().emit(event, data, namespace, room=room, skip_sid=skip_sid, callback=callback, **kwargs)
            return
        args = list(data) if isinstance(data, tuple) else [data] if data is not None else []
        encoded = self.server.packet_class(sio_packet.EVENT, namespace=namespace, data=[event, *args]).encode()
        if isinstance(encoded, list):  # binary attachments: Engine.IO's path
            await super().emit(event, data, namespace, room=room, skip_sid=skip_sid, **kwargs)
            return
        pkt = eio_packet.Packet(eio_packet.MESSAGE, encoded)
        frame = text_frame(pkt.encode())
        skip = set(skip_sid) if isinstance(skip_sid, list) else {skip_sid}
        eio: EngineServer = self.server.eio
        queued = []
        for sid, eio_sid in self.get_participants(namespace, room):
            if sid not in skip and not eio.write_frame(eio_sid, frame):
                queued.append(eio_sid)
        if queued:
            await asyncio.gather(*(self.server._send_eio_packet(eio_sid, pkt) for eio_sid in queued))


class RedisFanout(socketio.AsyncRedisManager, LocalFanout):  # type: ignore[misc]
    """Pub/sub across nodes (python-socketio's), publishing in pipelines, delivering locally
    through LocalFanout (it follows AsyncPubSubManager in the method order, so the messages
    arriving from Redis use it too)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._publishes: TurnBatch[str, None] = TurnBatch(self._publish_all)
        host_id: str = self.host_id
        self._own = f'"host_id":"{host_id}"'.encode()

    async def emit(
        self, event: str, data: Any, namespace: str | None = None, room: Any = None, skip_sid: Any = None,
        callback: Any = None, to: Any = None, **kwargs: Any,
    ) -> None:
        """python-socketio's pub/sub emit without its walk of the payload looking for bytes
        (TextPacket: there are none): delivered here, then published for the other nodes."""
        if callback is not None or kwargs.get("ignore_queue"):
            await super().emit(event, data, namespace=namespace or "/", room=room, skip_sid=skip_sid, callback=callback, to=to, **kwargs)
            return
        ns = namespace or "/"
        room = to or room
        await LocalFanout.emit(self, event, data, ns, room=room, skip_sid=skip_sid)
        await self._publish({
            "method": "emit", "event": event, "data": list(data) if isinstance(data, tuple) else [data],
            "binary": False, "namespace": ns, "room": room, "skip_sid": skip_sid, "callback": None,
            "host_id": self.host_id,
        })

    async def _listen(self) -> Any:
        """Messages from Redis, less the ones this node published: every node receives its own
        publishes back, and python-socketio would decode each (an order's JSON, a chat line) only
        to drop it. A callback names the node it is for in host_id, so those are all kept."""
        own = self._own
        async for message in super()._listen():
            if isinstance(message, bytes) and own in message and not message.startswith(b'{"method":"callback"'):
                continue
            yield message

    async def close(self) -> None:
        """Stop listening and close the Redis connections (the app's cleanup); python-socketio
        has no such step, and a listener left running retries a closed connection forever."""
        thread: asyncio.Task[None] | None = getattr(self, "thread", None)
        if thread is not None:
            thread.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await thread
        redis = getattr(self, "redis", None)
        if redis is not None:
            await redis.aclose()

    async def _publish(self, data: Any) -> None:
        # Queued for this loop turn's pipeline, not waited for: an emit (and the reply sent after
        # it) does not wait a Redis round trip. Publishes leave in the order they were made;
        # a failure is logged, as python-socketio does, and loses the message only.
        self._publishes.send(self.json.dumps(data))

    async def _publish_all(self, messages: list[str]) -> list[None | BaseException]:
        error: Exception | None = None
        for _ in range(2):
            try:
                connected: bool = self.connected  # type: ignore[has-type]
                if not connected:
                    self._redis_connect()
                async with self.redis.pipeline(transaction=False) as pipe:
                    for message in messages:
                        pipe.publish(self.channel, message)
                    await pipe.execute()
                return [None] * len(messages)
            except Exception as exc:  # noqa: BLE001  (reconnect once, then report)
                error = exc
                self.connected = False
        # As python-socketio does: the emit is lost, the caller's work is not undone.
        logger.error("cannot publish %d Socket.IO messages to Redis: %s", len(messages), error)
        return [None] * len(messages)
