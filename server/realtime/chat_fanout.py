"""Sends each room's chat to everyone in it: one emit per window, carrying every message of it.

An emit to a Socket.IO room is one websocket frame, built once and written to every connected
client (server/realtime/wire.py): the encoding is paid once, the writes (a send() each, and the
bytes) once per viewer. One emit per message would be 1,000,000 socket writes a second for 500
messages/s to 2,000 viewers, and a frame header, a Socket.IO envelope and a wake-up of every viewer's
page per message. So a room gets at most one emit per window, and the window grows with the room:
`window_s`, or `per_viewer_s` for each viewer in it on this node if that is longer (50 us each by
default: 100 ms, the minimum, up to 2,000 viewers; 500 ms at 10,000). A quiet room's message is not
held back: it leaves on the next loop turn. While an emit is still being written out, new messages
wait and go together in the next one, so a slow fan-out grows the batches, not a queue of emits.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass, field
from typing import Any

import socketio

from .chat_events import CHAT_MESSAGES, CHAT_REMOVED
from .server import sio_room

logger = logging.getLogger(__name__)


@dataclass
class _Room:
    pending: list[dict[str, Any]] = field(default_factory=list)
    last_sent: float = float("-inf")
    timer: asyncio.TimerHandle | None = None
    sending: bool = False


class ChatFanout:
    def __init__(self, sio: socketio.AsyncServer, window_s: float, per_viewer_s: float = 0.0) -> None:
        self.sio = sio
        self.window_s = window_s
        self.per_viewer_s = per_viewer_s
        self._rooms: dict[str, _Room] = {}
        self._tasks: set[asyncio.Task[None]] = set()

    def message(self, room_id: str, message: dict[str, Any]) -> None:
        """Queues a stored message for everyone in the room."""
        room = self._rooms.setdefault(room_id, _Room())
        room.pending.append(message)
        self._schedule(room_id, room)

    async def removed(self, room_id: str, ids: list[int]) -> None:
        """Tells everyone to drop these messages, now; any still queued here are never sent."""
        room = self._rooms.get(room_id)
        if room is not None and room.pending:
            gone = set(ids)
            room.pending = [m for m in room.pending if m["id"] not in gone]
        await self.sio.emit(CHAT_REMOVED, {"room": room_id, "ids": ids}, room=sio_room(room_id))

    async def close(self) -> None:
        for room in self._rooms.values():
            if room.timer is not None:
                room.timer.cancel()
                room.timer = None
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)

    def window(self, room_id: str) -> float:
        # The manager's room index (O(1)); viewers on other nodes cost those nodes, not this one.
        viewers = len(self.sio.manager.rooms.get("/", {}).get(sio_room(room_id), ()))
        return max(self.window_s, viewers * self.per_viewer_s)

    def _schedule(self, room_id: str, room: _Room) -> None:
        if room.timer is not None or room.sending:
            return  # the pending timer, or the end of the emit in flight, takes these along
        loop = asyncio.get_running_loop()
        delay = room.last_sent + self.window(room_id) - time.monotonic()
        if delay <= 0:
            # Next loop turn: messages stored in the same commit leave together.
            room.timer = loop.call_soon(self._flush, room_id)  # type: ignore[assignment]
        else:
            room.timer = loop.call_later(delay, self._flush, room_id)

    def _flush(self, room_id: str) -> None:
        room = self._rooms[room_id]
        room.timer = None
        if not room.pending:
            return
        batch, room.pending = room.pending, []
        room.sending = True
        room.last_sent = time.monotonic()
        task = asyncio.ensure_future(self._emit(room_id, room, batch))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _emit(self, room_id: str, room: _Room, batch: list[dict[str, Any]]) -> None:
        try:
            await self.sio.emit(CHAT_MESSAGES, {"room": room_id, "messages": batch}, room=sio_room(room_id))
        except Exception:
            logger.exception("chat fan-out failed", extra={"room": room_id})
        finally:
            room.sending = False
            if room.pending:
                self._schedule(room_id, room)
