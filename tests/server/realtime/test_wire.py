"""Socket.IO on the wire: one prepared frame per broadcast, written to each websocket client;
Engine.IO's queue for everyone else; order kept on each connection."""

from __future__ import annotations

import asyncio
import secrets
import struct
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import orjson
import pytest
import socketio
from aiohttp import web
from aiohttp.test_utils import TestServer

from server.realtime import wire

pytestmark = pytest.mark.timeout(60)


@pytest.fixture
async def served() -> AsyncIterator[tuple[wire.Server, str]]:
    sio = wire.Server(async_mode="aiohttp", client_manager=wire.LocalFanout(), json=wire.OrJson, serializer=wire.TextPacket)

    @sio.on("join")
    async def join(sid: str, room: str) -> dict[str, Any]:
        await sio.enter_room(sid, room)
        return {"ok": True, "sid": sid}

    @sio.on("echo")
    async def echo(sid: str, data: Any) -> Any:
        # The reply is sent after a broadcast that this call triggers: the client must see the
        # broadcast first (it was sent first on the same connection).
        await sio.emit("said", data, room="lobby")
        return {"echo": data}

    app = web.Application()
    sio.attach(app)
    server = TestServer(app)
    await server.start_server()
    try:
        yield sio, str(server.make_url(""))
    finally:
        await server.close()


async def _client(base: str, transport: str, room: str | None, log: list[tuple[str, Any]]) -> socketio.AsyncClient:
    c = socketio.AsyncClient(reconnection=False)

    @c.on("*")
    async def any_event(event: str, data: Any) -> None:
        log.append((event, data))

    await c.connect(base, transports=[transport])
    if room:
        assert (await c.call("join", room))["ok"]
    return c


def test_text_frame_headers_follow_rfc6455() -> None:
    for n, header in [(0, b"\x81\x00"), (125, b"\x81\x7d"), (126, b"\x81\x7e" + struct.pack("!H", 126)),
                      (65535, b"\x81\x7e\xff\xff"), (65536, b"\x81\x7f" + struct.pack("!Q", 65536))]:
        frame = wire.text_frame("a" * n)
        assert frame.startswith(header) and len(frame) == len(header) + n
    # Length counts bytes, not characters: Chinese is 3 bytes a character in UTF-8.
    assert wire.text_frame("番茄") == b"\x81\x06" + "番茄".encode()


def test_json_drops_lone_surrogate_escapes_and_reads_everything_else_as_orjson_does() -> None:
    loads = wire.OrJson.loads
    assert loads('["chat:send",{"text":"\\u597d\\u751c\\ud83c"}]') == ["chat:send", {"text": "好甜"}]
    assert loads('"\\udf45x\\ud83c\\ud83c\\udf45"') == "x🍅"  # a lone low one; a lone high before a pair
    assert loads('{"\\ud800k": "\\ud83d\\ude00"}') == {"k": "😀"}
    # An escaped backslash followed by letters is text, not an escape.
    assert loads('["\\\\ud83c", "\\\\\\ud83c"]') == ["\\ud83c", "\\"]
    # orjson's other refusals stand (the standard library would take NaN).
    for bad in ('[NaN, "\\ud83c"]', '["\\ud83c"', '[1e999]', "[" * 2000 + "]" * 2000):
        with pytest.raises(ValueError):
            loads(bad)
    assert loads(b'"\\ud83cok"') == "ok"


async def test_a_raw_frame_with_a_lone_surrogate_or_unreadable_json_still_gets_its_ack(
    served: tuple[wire.Server, str],
) -> None:
    _, base = served
    async with aiohttp.ClientSession() as http, http.ws_connect(f"{base.rstrip('/')}/socket.io/?EIO=4&transport=websocket") as ws:
        assert (await ws.receive_str(timeout=5)).startswith("0{")
        await ws.send_str("40")
        assert (await ws.receive_str(timeout=5)).startswith("40{")
        await ws.send_str('421["join","lobby\\ud83c"]')  # the escape, as JSON.stringify writes it
        assert orjson.loads((await ws.receive_str(timeout=5))[3:])[0]["ok"] is True
        await ws.send_str('422["join",{"room":')
        ack = await ws.receive_str(timeout=5)
        assert ack.startswith("432[")
        assert orjson.loads(ack[3:])[0]["error"] == "invalid_input"
        # Names python-socketio calls itself, no name at all, or one nobody handles.
        for n, frame in enumerate(('["connect",{}]', '["disconnect"]', "[]", '{"a":1}', '["nothing"]'), start=3):
            await ws.send_str(f"42{n}{frame}")
            ack = await ws.receive_str(timeout=5)
            assert ack.startswith(f"43{n}["), ack
            assert orjson.loads(ack[3:])[0]["error"] in ("unknown_event", "invalid_input"), ack
        # The connection goes on.
        await ws.send_str('429["join","lobby"]')
        assert (await ws.receive_str(timeout=5)).startswith("439[")


async def test_broadcast_reaches_the_room_only_and_skips_the_sender(served: tuple[wire.Server, str]) -> None:
    sio, base = served
    logs: list[list[tuple[str, Any]]] = [[] for _ in range(4)]
    inside = [await _client(base, "websocket", "lobby", logs[i]) for i in range(3)]
    outside = await _client(base, "websocket", None, logs[3])
    try:
        skip = next(s for s, _ in sio.manager.get_participants("/", "lobby"))
        await sio.emit("news", {"text": "高山番茄 🍅 到货了", "n": 1}, room="lobby", skip_sid=skip)
        await asyncio.sleep(0.3)
        got = [log for log in logs[:3] if log]
        assert len(got) == 2
        for log in got:
            assert log == [("news", {"text": "高山番茄 🍅 到货了", "n": 1})]
        assert logs[3] == []
    finally:
        for c in [*inside, outside]:
            await c.disconnect()


@pytest.mark.both_loops
async def test_long_polling_clients_get_broadcasts_through_engineio(served: tuple[wire.Server, str]) -> None:
    sio, base = served
    ws_log: list[tuple[str, Any]] = []
    poll_log: list[tuple[str, Any]] = []
    ws = await _client(base, "websocket", "lobby", ws_log)
    polling = await _client(base, "polling", "lobby", poll_log)
    try:
        for k in range(5):
            await sio.emit("tick", k, room="lobby")
        for _ in range(50):
            if len(ws_log) == 5 and len(poll_log) == 5:
                break
            await asyncio.sleep(0.1)
        assert ws_log == poll_log == [("tick", k) for k in range(5)]
    finally:
        await ws.disconnect()
        # python-socketio's polling client waits out a 30 s poll on a clean disconnect.
        await polling.eio.disconnect(abort=True)


async def test_a_connection_keeps_its_order_across_broadcasts_and_replies(served: tuple[wire.Server, str]) -> None:
    _, base = served
    order: list[str] = []
    c = socketio.AsyncClient(reconnection=False)

    @c.on("said")
    async def said(data: Any) -> None:
        order.append(f"said:{data}")

    await c.connect(base, transports=["websocket"])
    try:
        assert (await c.call("join", "lobby"))["ok"]
        for k in range(20):
            reply = await c.call("echo", k)
            order.append(f"reply:{reply['echo']}")
        await asyncio.sleep(0.1)
        assert order == [x for k in range(20) for x in (f"said:{k}", f"reply:{k}")]
    finally:
        await c.disconnect()


async def test_bytes_are_refused_rather_than_sent_half_encoded(served: tuple[wire.Server, str]) -> None:
    sio, base = served
    log: list[tuple[str, Any]] = []
    c = await _client(base, "websocket", "lobby", log)
    try:
        with pytest.raises(TypeError):
            await sio.emit("blob", {"data": b"\x00\x01"}, room="lobby")
        await sio.emit("text", {"data": "ok"}, room="lobby")
        for _ in range(30):
            if log:
                break
            await asyncio.sleep(0.1)
        assert log == [("text", {"data": "ok"})]
    finally:
        await c.disconnect()


async def test_a_backed_up_client_is_queued_not_written_ahead(served: tuple[wire.Server, str]) -> None:
    """A client whose transport holds unsent bytes gets its next packets through Engine.IO's
    queue; they still arrive, in order."""
    sio, base = served
    log: list[tuple[str, Any]] = []
    c = await _client(base, "websocket", "lobby", log)
    try:
        (eio_sid,) = [e for _, e in sio.manager.get_participants("/", "lobby")]
        socket = sio.eio.sockets[eio_sid]
        assert wire._direct(socket) is not None
        # The same check the fast path makes, with the transport reporting a backlog.
        real = socket.fc_transport
        socket.fc_transport = _Backlogged(real)
        assert wire._direct(socket) is None
        await sio.emit("tick", 1, room="lobby")
        socket.fc_transport = real
        await sio.emit("tick", 2, room="lobby")
        for _ in range(30):
            if len(log) == 2:
                break
            await asyncio.sleep(0.1)
        assert log == [("tick", 1), ("tick", 2)]
    finally:
        await c.disconnect()


class _Backlogged:
    def __init__(self, real: asyncio.Transport) -> None:
        self.real = real

    def is_closing(self) -> bool:
        return self.real.is_closing()

    def get_write_buffer_size(self) -> int:
        return 1 << 20

    def write(self, data: bytes) -> None:  # pragma: no cover - the fast path must not write here
        raise AssertionError("wrote past a backlog")


async def test_a_client_upgraded_from_polling_gets_the_direct_path(served: tuple[wire.Server, str]) -> None:
    """Browsers start on long-polling and upgrade: after the upgrade their frames go direct."""
    sio, base = served
    log: list[tuple[str, Any]] = []
    c = socketio.AsyncClient(reconnection=False)

    @c.on("tick")
    async def tick(data: Any) -> None:
        log.append(("tick", data))

    await c.connect(base, transports=["polling", "websocket"])
    try:
        assert (await c.call("join", "lobby"))["ok"]
        (eio_sid,) = [e for _, e in sio.manager.get_participants("/", "lobby")]
        socket = sio.eio.sockets[eio_sid]
        for _ in range(50):
            if c.transport() == "websocket" and wire._direct(socket) is not None:
                break
            await asyncio.sleep(0.1)
        assert c.transport() == "websocket" and wire._direct(socket) is not None
        for k in range(10):
            await sio.emit("tick", k, room="lobby")
        for _ in range(30):
            if len(log) == 10:
                break
            await asyncio.sleep(0.1)
        assert log == [("tick", k) for k in range(10)]
    finally:
        await c.disconnect()


async def test_redis_nodes_deliver_each_others_emits_and_skip_decoding_their_own() -> None:
    channel = f"test-wire-{secrets.token_hex(4)}"
    decoded: list[list[Any]] = [[], []]

    def counting(i: int) -> type:
        class Json(wire.OrJson):
            @staticmethod
            def loads(s: str | bytes, **_: Any) -> Any:
                value = wire.OrJson.loads(s)
                decoded[i].append(value)
                return value

        return Json

    nodes: list[tuple[wire.Server, TestServer]] = []
    clients: list[socketio.AsyncClient] = []
    logs: list[list[tuple[str, Any]]] = [[], []]
    try:
        for i in range(2):
            manager = wire.RedisFanout("redis://127.0.0.1:6379/0", channel=channel)
            sio = wire.Server(async_mode="aiohttp", client_manager=manager, json=wire.OrJson, serializer=wire.TextPacket)
            manager.json = counting(i)  # what the manager decodes messages from Redis with

            @sio.on("join")
            async def join(sid: str, room: str, sio: wire.Server = sio) -> dict[str, Any]:
                await sio.enter_room(sid, room)
                return {"ok": True}

            app = web.Application()
            sio.attach(app)
            server = TestServer(app)
            await server.start_server()
            nodes.append((sio, server))
            clients.append(await _client(str(server.make_url("")), "websocket", "lobby", logs[i]))
        await asyncio.sleep(0.3)  # both listeners subscribed
        (a, _), (b, _) = nodes
        for k in range(3):
            await a.emit("tick", {"from": "a", "k": k}, room="lobby")
        for k in range(2):
            await b.emit("tick", {"from": "b", "k": k}, room="lobby")
        for _ in range(50):
            if all(len(log) == 5 for log in logs):
                break
            await asyncio.sleep(0.1)
        for log in logs:  # each emit reached each node's client exactly once
            assert sorted((d["from"], d["k"]) for _, d in log) == [("a", 0), ("a", 1), ("a", 2), ("b", 0), ("b", 1)]
        # Each node decoded only the other's messages.
        assert [m["data"][0]["from"] for m in decoded[0]] == ["b", "b"]
        assert [m["data"][0]["from"] for m in decoded[1]] == ["a", "a", "a"]
    finally:
        for c in clients:
            await c.disconnect()
        for sio, server in nodes:
            await server.close()
            await sio.manager.close()
            assert sio.manager.thread.done()


async def test_websocket_events_take_the_fast_path_and_answer_as_python_socketio_does(caplog: pytest.LogCaptureFixture) -> None:
    sio = wire.Server(async_mode="aiohttp", client_manager=wire.LocalFanout(), json=wire.OrJson, serializer=wire.TextPacket)
    seen: list[tuple[str, Any]] = []

    @sio.on("pair")
    async def pair(sid: str, data: Any) -> tuple[str, int]:
        return ("番茄", data["n"] * 2)

    @sio.on("note")
    async def note(sid: str, data: Any) -> None:
        seen.append(("note", data))

    @sio.on("boom")
    async def boom(sid: str, data: Any) -> dict[str, Any]:
        raise RuntimeError("handler broke")

    @sio.on("*")
    async def anything(event: str, sid: str, data: Any) -> dict[str, Any]:
        seen.append((event, data))
        return {"caught": event}

    slow_path: list[str] = []
    message = sio.eio.handlers["message"]

    async def counted(eio_sid: str, data: str) -> None:
        slow_path.append(data)
        await message(eio_sid, data)

    sio.eio.handlers["message"] = counted
    app = web.Application()
    sio.attach(app)
    server = TestServer(app)
    await server.start_server()
    c = socketio.AsyncClient(reconnection=False)
    try:
        await c.connect(str(server.make_url("")), transports=["websocket"])
        assert [p[0] for p in slow_path] == ["0"]  # Socket.IO's CONNECT only
        assert await c.call("pair", {"n": 21}) == ("番茄", 42)  # a tuple answers as several values
        await c.emit("note", {"k": "no ack wanted"})
        with caplog.at_level("ERROR"), pytest.raises(socketio.exceptions.TimeoutError):
            await c.call("boom", {}, timeout=0.5)  # no answer, as python-socketio does, and logged
        assert any("Socket.IO handler failed" in r.message and r.exc_info for r in caplog.records)
        for _ in range(20):
            if seen:
                break
            await asyncio.sleep(0.05)
        assert seen == [("note", {"k": "no ack wanted"})]
        assert [p[0] for p in slow_path] == ["0"]
        # An event with no handler of its own goes the long way, to the catch-all.
        assert await c.call("other", {"x": 1}) == {"caught": "other"}
        assert len(slow_path) == 2 and slow_path[1].startswith("2") and '"other"' in slow_path[1]
    finally:
        await c.disconnect()
        await server.close()
