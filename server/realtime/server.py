"""The Socket.IO server on the aiohttp app. Scaling out swaps the client manager, never a handler."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import socketio
from aiohttp import web
from pydantic import ValidationError

from streams.room import Presence

from ..config import Settings
from ..domain.ports import RoomRepository
from . import events

logger = logging.getLogger(__name__)

# Presence is coalesced: a burst of joins becomes one broadcast per room per interval.
PRESENCE_INTERVAL_S = 0.5


def sio_room(room_id: str) -> str:
    return f"room:{room_id}"


class Realtime:
    def __init__(self, settings: Settings, rooms: RoomRepository | None = None) -> None:
        manager = socketio.AsyncRedisManager(settings.redis_url) if settings.redis_url else None
        self.sio = socketio.AsyncServer(
            async_mode="aiohttp",
            client_manager=manager,
            max_http_buffer_size=64 * 1024,
        )
        # Set once the database is up (the app's cleanup context does it).
        self.rooms = rooms
        self._pending: dict[str, Presence] = {}
        self._flush: asyncio.TimerHandle | None = None
        self.sio.on("connect", self.on_connect)
        self.sio.on(events.JOIN, self.on_join)
        self.sio.on(events.LEAVE, self.on_leave)
        self.current: dict[str, Presence] = {}

    def attach(self, app: web.Application) -> None:
        self.sio.attach(app)

    async def on_connect(self, sid: str, environ: dict[str, Any], auth: Any = None) -> bool:
        # Anyone may watch: an anonymous connection is a viewer. Accounts come with sign-in.
        await self.sio.save_session(sid, {"role": "viewer", "rooms": []})
        return True

    async def on_join(self, sid: str, data: Any) -> dict[str, Any]:
        try:
            payload = events.JoinPayload.model_validate(data)
        except ValidationError as exc:
            logger.warning("bad join: %s", exc.errors()[0]["msg"], extra={"sid": sid})
            return events.error_reply("invalid_input", "join needs {room: <room id>}")
        if self.rooms is None or await self.rooms.get(payload.room) is None:
            return events.error_reply("not_found", f"no room {payload.room!r}")
        await self.sio.enter_room(sid, sio_room(payload.room))
        presence = self.current.get(payload.room, Presence(payload.room, 0, False))
        return {"ok": True, "presence": events.PresencePayload(
            room=payload.room, viewers=presence.viewers, live=presence.live).model_dump()}

    async def on_leave(self, sid: str, data: Any) -> dict[str, Any]:
        try:
            payload = events.JoinPayload.model_validate(data)
        except ValidationError:
            return events.error_reply("invalid_input", "leave needs {room: <room id>}")
        await self.sio.leave_room(sid, sio_room(payload.room))
        return {"ok": True}

    def on_presence(self, presence: Presence) -> None:
        """Called by the media server (event loop thread) whenever a count or live state changes."""
        self.current[presence.room_id] = presence
        self._pending[presence.room_id] = presence
        if self._flush is None:
            self._flush = asyncio.get_running_loop().call_later(PRESENCE_INTERVAL_S, self._send)

    def _send(self) -> None:
        self._flush = None
        pending, self._pending = self._pending, {}
        for presence in pending.values():
            payload = events.PresencePayload(
                room=presence.room_id, viewers=presence.viewers, live=presence.live
            ).model_dump()
            asyncio.ensure_future(self.sio.emit(events.PRESENCE, payload, room=sio_room(presence.room_id)))
