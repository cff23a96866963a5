"""The Socket.IO server on the aiohttp app. Scaling out swaps the client manager, never a handler.

Handlers register through `Realtime.on(event, Payload, role, room=...)`: the payload is validated,
the caller's role is checked (in the payload's room when `room` says how to find it: hosts and
moderators hold grants per room), domain errors become `{"error", "message"}` replies, and
everything refused is logged. Who a client is comes from the same session cookie (or API token)
as HTTP, read on connect, and read again before a privileged event whenever the caller's identity
version moved (sign-out, role or grant change, token revocation); a caller who lost their
identity or power is disconnected.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any, TypeVar

from aiohttp import web
from pydantic import BaseModel, ValidationError

from streams.room import Presence

from ..config import Settings
from ..domain.accounts.grants import Subject, SubjectKind, room_role
from ..domain.accounts.identity import IdentityChanged
from ..domain.accounts.roles import Role, role_allows
from ..domain.accounts.tokens import hash_secret
from ..domain.errors import DomainError
from ..http.auth import DEVICE_COOKIE, SESSION_COOKIE, Caller, bearer, client_ip, resolve_caller
from ..http.keys import IDENTITY, ROOMS
from . import events, wire

logger = logging.getLogger(__name__)

# Presence is coalesced: a burst of joins becomes one broadcast per room per interval.
PRESENCE_INTERVAL_S = 0.5

P = TypeVar("P", bound=BaseModel)
# How a room-scoped handler finds the room its payload acts on (a field, or the room of the
# question or review it names); None when it names no single room (the caller's rooms).
RoomOf = Callable[[Any], Awaitable[str | None]]


async def payload_room(payload: Any) -> str:
    """The `room` field of the payload: the usual way a room-scoped event names its room."""
    room: str = payload.room
    return room


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


def subject_room(subject: Subject) -> str:
    """Every connection of one account (its user room) or one API token."""
    return user_room(subject.id) if subject.kind is SubjectKind.USER else f"token:{subject.id}"


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
    # `role` is what the caller may do outside any room's grants (a host or moderator account is a
    # viewer there; operators are operators everywhere); a room-scoped handler gets the client
    # with `role` replaced by what the caller may do in the payload's room. `account_role` is the
    # account's (or token's) own role.
    account_role: Role = Role.VIEWER
    grants: Mapping[str, Role] = field(default_factory=dict)
    # Whose identity version this connection follows, the version it last saw, and when.
    subject: Subject | None = None
    version: int = 0
    checked_at: float = 0.0
    # What it connected with, to read the caller again: the signed session cookie and/or token.
    session_cookie: str | None = None
    authorization: str | None = None
    session_hash: str | None = None

    @property
    def label(self) -> str:
        return f"user:{self.user_id}" if self.user_id is not None else f"device:{self.device[:8] or self.sid[:8]}"

    def role_in(self, room_id: str) -> Role:
        return room_role(self.account_role, self.grants.get(room_id))

    @property
    def staff_somewhere(self) -> bool:
        """Whether this caller holds any power beyond a viewer's (so its events get re-checked)."""
        return self.account_role is Role.OPERATOR or bool(self.grants)

    def could_hold(self, role: Role, scoped: bool) -> bool:
        if not scoped:
            return role_allows(room_role(self.account_role, None), role)
        return self.account_role is Role.OPERATOR or any(role_allows(g, role) for g in self.grants.values())


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
        # A privileged event re-reads its caller at least this often even when no version moved.
        self.recheck_s = settings.identity_recheck_s
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
        cookies = {k: v for k, v in request.cookies.items() if k in (SESSION_COOKIE, DEVICE_COOKIE)}
        authorization = token or bearer(request)
        who = await resolve_caller(self.app, cookies, authorization, client_ip(request))
        # No version yet (-1): the first privileged event reads the version, then the caller, in
        # that order, so a sign-out landing while this connection opens is never missed.
        client = _client_for(sid, who, -1, cookies.get(SESSION_COOKIE), authorization)
        # The Client itself, not a dict of it: every event reads it back.
        await self.sio.save_session(sid, {"client": client})
        if who.subject is not None:
            await self.sio.enter_room(sid, subject_room(who.subject))
        return True

    async def _fresh(self, client: Client) -> Client | None:
        """The client as it is now: read again if its identity version moved (or it was last
        read `identity_recheck_s` ago). None when the credential it connected with no longer names the same
        caller (signed out, session or token revoked)."""
        assert self.app is not None and client.subject is not None
        version = await self.app[IDENTITY].current(client.subject)
        if version == client.version and time.monotonic() - client.checked_at < self.recheck_s:
            return client
        cookies = {SESSION_COOKIE: client.session_cookie} if client.session_cookie else {}
        who = await resolve_caller(self.app, cookies, client.authorization, client.ip)
        if who.subject != client.subject:
            return None
        # The device cookie is not kept (only what identifies the caller): keep the device read on connect.
        fresh = replace(
            _client_for(client.sid, who, version, client.session_cookie, client.authorization), device=client.device
        )
        async with self.sio.session(client.sid) as data:
            data["client"] = fresh
        return fresh

    async def _authorise(
        self, sid: str, client: Client, event: str, role: Role, scoped: bool
    ) -> Client | dict[str, Any]:
        """Before the payload is read: a privileged event re-checks its caller and needs the role
        (somewhere, for a room-scoped one); what a viewer may do needs no look-up."""
        privileged = role is not Role.VIEWER
        if client.subject is not None and (privileged or (scoped and client.staff_somewhere)):
            try:
                fresh = await self._fresh(client)
            except Exception:
                # Who is calling cannot be confirmed (Redis or the database away): refuse, never
                # fall back on what the connection was allowed when it opened.
                logger.exception("%s refused: identity not confirmed", event, extra={"sid": sid, "user": client.label})
                return events.error_reply("unavailable", "could not confirm who you are: try again")
            if fresh is None:
                logger.warning("%s refused: signed out; disconnecting", event, extra={"sid": sid, "user": client.label})
                self.sio.start_background_task(self.sio.disconnect, sid)
                return events.error_reply("unauthorized", "signed out: sign in again")
            client = fresh
        if privileged and not client.could_hold(role, scoped):
            logger.warning("%s refused: needs %s", event, role.value, extra={"sid": sid, "user": client.label})
            return events.error_reply("forbidden", f"{event} needs the {role.value} role")
        return client

    @staticmethod
    async def _in_room(client: Client, event: str, role: Role, room: RoomOf, body: Any) -> Client | dict[str, Any]:
        """After the payload is read: the role in the room it acts on, handed to the handler."""
        if role is Role.VIEWER and not client.staff_somewhere:
            # No grant anywhere: the same role in every room, so no look-up (a vote from one of
            # 2,000 viewers does not fetch its question's room).
            return client
        room_id = await room(body)
        if room_id is None:
            return client  # no single room: the handler reads the grants itself
        held = client.role_in(room_id)
        if not role_allows(held, role):
            logger.warning(
                "%s refused in room %s: needs %s", event, room_id, role.value,
                extra={"sid": client.sid, "user": client.label, "room": room_id},
            )
            return events.error_reply("forbidden", f"{event} needs the {role.value} role in room {room_id!r}")
        return replace(client, role=held)

    async def identity_changed(self, change: IdentityChanged) -> None:
        """Close this node's connections of a caller who may have lost power: they sit in
        moderators' channels that no later check would take them out of."""
        if not change.change.ends_connections:
            return
        room = subject_room(change.subject)
        for sid, _eio_sid in list(self.sio.manager.get_participants("/", room)):
            if change.session_hash is not None:
                client = (await self.sio.get_session(sid)).get("client")
                if client is None or client.session_hash != change.session_hash:
                    continue  # another session of the same account: it re-checks on its next event
            logger.info("disconnected: %s", change.change.value, extra={"sid": sid, "user": change.subject.key})
            await self.sio.disconnect(sid)

    async def client(self, sid: str) -> Client:
        client: Client = (await self.sio.get_session(sid))["client"]
        return client

    async def update_client(self, sid: str, **changes: Any) -> None:
        async with self.sio.session(sid) as data:
            data["client"] = replace(data["client"], **changes)

    def on(
        self, event: str, payload: type[P] | None, role: Role = Role.VIEWER, room: RoomOf | None = None
    ) -> Callable[[Callable[[Client, P], Awaitable[dict[str, Any] | None]]], Handler]:
        """Register a handler: validated payload, checked role, errors as replies. With `room`
        (e.g. `payload_room`), the role is checked in that room and the handler's client carries
        the caller's role there. Host and moderator power exists only in rooms: an event that
        needs it must be room-scoped (without `room`, only operators pass a staff role)."""

        def register(fn: Callable[[Client, P], Awaitable[dict[str, Any] | None]]) -> Handler:
            async def handle(sid: str, data: Any = None) -> dict[str, Any] | None:
                checked = await self._authorise(sid, await self.client(sid), event, role, room is not None)
                if isinstance(checked, dict):
                    return checked
                client = checked
                try:
                    body = payload.model_validate(data) if payload is not None else None
                except ValidationError as exc:
                    first = exc.errors()[0]
                    where = ".".join(str(p) for p in first.get("loc", ())) or "payload"
                    message = f"{where}: {first.get('msg', 'invalid')}"
                    logger.warning("%s invalid: %s", event, message, extra={"sid": sid, "user": client.label})
                    return events.error_reply("invalid_input", message)
                try:
                    if room is not None:
                        scoped = await self._in_room(client, event, role, room, body)
                        if isinstance(scoped, dict):
                            return scoped
                        client = scoped
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


def _client_for(
    sid: str, who: Caller, version: int, session_cookie: str | None, authorization: str | None
) -> Client:
    user = who.user
    return Client(
        sid=sid,
        role=room_role(who.role, None),
        user_id=user.id if user else None,
        nickname=user.nickname if user else "",
        community=user.community if user else "",
        community_id=user.community_id if user else None,
        device=who.device,
        ip=who.ip,
        account_role=who.role,
        grants=dict(who.grants),
        subject=who.subject,
        version=version,
        checked_at=time.monotonic(),
        session_cookie=session_cookie if user is not None else None,
        authorization=authorization if who.api_token is not None else None,
        session_hash=hash_secret(who.session_token) if who.session_token else None,
    )
