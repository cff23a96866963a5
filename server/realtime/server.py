"""The Socket.IO server on the aiohttp app. Scaling out swaps the client manager, never a handler.

Handlers register through `Realtime.on(event, Payload, role)`: the payload is validated, the
caller's role is checked, domain errors become `{"error", "message"}` replies, and everything
refused is logged. Who a client is comes from the same session cookie as HTTP, read on connect.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from typing import Any, TypeVar

from aiohttp import web
from pydantic import BaseModel, ValidationError

from streams.room import Presence

from ..config import Settings
from ..domain.accounts.roles import Role, role_allows
from ..domain.errors import DomainError
from ..http.auth import bearer, client_ip, resolve_caller
from ..http.keys import ROOMS
from . import events, wire

logger = logging.getLogger(__name__)

# Presence is coalesced: a burst of joins becomes one broadcast per room per interval.
PRESENCE_INTERVAL_S = 0.5

P = TypeVar("P", bound=BaseModel)


def _presence_payload(presence: Presence) -> dict[str, Any]:
    return events.PresencePayload(
        room=presence.room_id,
        viewers=presence.viewers,
        live=presence.live,
        publishing=presence.publishing,
    ).model_dump()


def sio_room(room_id: str) -> str:
    return f"room:{room_id}"


def user_room(user_id: int) -> str:
    """Each signed-in client is in its user's room: events only that user may see go there."""
    return f"user:{user_id}"


@dataclass(frozen=True)
class Client:
    """Who is on the other end of a Socket.IO connection, as established on connect."""

    sid: str
    role: Role
    user_id: int | None
    nickname: str
    community: str
    device: str
    ip: str
    community_id: int | None = None  # the community (小区) the user buys with

    @property
    def label(self) -> str:
        return f"user:{self.user_id}" if self.user_id is not None else f"device:{self.device[:8] or self.sid[:8]}"


# What python-socketio calls: (sid, data) -> the ack.
Handler = Callable[[str, Any], Awaitable[dict[str, Any] | None]]


class Realtime:
    def __init__(self, settings: Settings) -> None:
        # driver_info=None: no CLIENT SETINFO, for which redis-py re-reads its package metadata on
        # every new connection.
        manager = (
            wire.RedisFanout(settings.redis_url, json=wire.OrJson, redis_options={"driver_info": None})
            if settings.redis_url else wire.LocalFanout()
        )
        self.sio = wire.Server(
            async_mode="aiohttp",
            client_manager=manager,
            json=wire.OrJson,
            serializer=wire.TextPacket,
            max_http_buffer_size=64 * 1024,
        )
        self.app: web.Application | None = None
        self._pending: dict[str, Presence] = {}
        self._flush: asyncio.TimerHandle | None = None
        self.current: dict[str, Presence] = {}
        self.sio.on("connect", self.on_connect)
        self.on(events.JOIN, events.JoinPayload)(self.on_join)
        self.on(events.LEAVE, events.JoinPayload)(self.on_leave)

    def attach(self, app: web.Application) -> None:
        self.app = app
        self.sio.attach(app)
        app.on_cleanup.append(self._close)

    async def _close(self, _app: web.Application) -> None:
        manager = self.sio.manager
        if isinstance(manager, wire.RedisFanout):
            await manager.close()

    # -- connection and identity ----------------------------------------------------------------

    async def on_connect(self, sid: str, environ: dict[str, Any], auth: Any = None) -> bool:
        assert self.app is not None
        request: web.Request = environ["aiohttp.request"]
        token = auth.get("token") if isinstance(auth, dict) and isinstance(auth.get("token"), str) else None
        who = await resolve_caller(self.app, dict(request.cookies), token or bearer(request), client_ip(request))
        user = who.user
        client = Client(
            sid=sid,
            role=who.role,
            user_id=user.id if user else None,
            nickname=user.nickname if user else "",
            community=user.community if user else "",
            community_id=user.community_id if user else None,
            device=who.device,
            ip=who.ip,
        )
        # The Client itself, not a dict of it: every event reads it back.
        await self.sio.save_session(sid, {"client": client})
        if user is not None and user.id is not None:
            await self.sio.enter_room(sid, user_room(user.id))
        return True

    async def client(self, sid: str) -> Client:
        client: Client = (await self.sio.get_session(sid))["client"]
        return client

    async def update_client(self, sid: str, **changes: Any) -> None:
        async with self.sio.session(sid) as data:
            data["client"] = replace(data["client"], **changes)

    def on(
        self, event: str, payload: type[P] | None, role: Role = Role.VIEWER
    ) -> Callable[[Callable[[Client, P], Awaitable[dict[str, Any] | None]]], Handler]:
        """Register a handler: validated payload, checked role, errors as replies."""

        def register(fn: Callable[[Client, P], Awaitable[dict[str, Any] | None]]) -> Handler:
            async def handle(sid: str, data: Any = None) -> dict[str, Any] | None:
                client = await self.client(sid)
                if not role_allows(client.role, role):
                    logger.warning("%s refused: needs %s", event, role.value, extra={"sid": sid, "user": client.label})
                    return events.error_reply("forbidden", f"{event} needs the {role.value} role")
                try:
                    body = payload.model_validate(data) if payload is not None else None
                except ValidationError as exc:
                    first = exc.errors()[0]
                    where = ".".join(str(p) for p in first.get("loc", ())) or "payload"
                    message = f"{where}: {first.get('msg', 'invalid')}"
                    logger.warning("%s invalid: %s", event, message, extra={"sid": sid, "user": client.label})
                    return events.error_reply("invalid_input", message)
                try:
                    return await fn(client, body)  # type: ignore[arg-type]
                except DomainError as exc:
                    logger.log(
                        logging.INFO if exc.expected else logging.WARNING,
                        "%s refused: %s", event, exc.message, extra={"sid": sid, "user": client.label, "error": exc.code},
                    )
                    return events.error_reply(exc.code, exc.message)

            self.sio.on(event, handle)
            return handle

        return register

    # -- rooms and presence ---------------------------------------------------------------------

    async def on_join(self, client: Client, payload: events.JoinPayload) -> dict[str, Any]:
        assert self.app is not None
        if await self.app[ROOMS].get(payload.room) is None:
            return events.error_reply("not_found", f"no room {payload.room!r}")
        await self.sio.enter_room(client.sid, sio_room(payload.room))
        presence = self.current.get(payload.room, Presence(payload.room, 0, False))
        return {"ok": True, "presence": _presence_payload(presence)}

    async def on_leave(self, client: Client, payload: events.JoinPayload) -> dict[str, Any]:
        await self.sio.leave_room(client.sid, sio_room(payload.room))
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
            payload = _presence_payload(presence)
            asyncio.ensure_future(self.sio.emit(events.PRESENCE, payload, room=sio_room(presence.room_id)))
