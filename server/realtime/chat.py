"""Chat's Socket.IO handlers: join with history, send, and the moderators' events.

Handlers are thin: they turn a `Client` into an author or an actor, call the chat and moderation
services, and hand stored messages to the fan-out. Every event names its room and is registered
room-scoped, so `client.role` is the caller's role in that room (a moderator of room A is a
viewer in room B). Who may do what is checked twice: by `Realtime.on` before any work
(`forbidden`), and again in the moderation service. Refusals are logged, but at most once
per person and reason every few seconds, so a flood does not also flood the log.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from aiohttp import web

from ..domain.accounts.roles import Role
from ..domain.errors import DomainError, Forbidden, InvalidInput, NotFound
from ..domain.voice.chat import Author
from ..domain.voice.moderation import Actor, Target, can_moderate
from ..domain.voice.sanctions import Sanction
from ..http.chat_keys import CHAT, CHAT_FANOUT, MODERATION
from ..http.keys import REALTIME, ROOMS
from . import chat_events as ev
from .events import error_reply
from .server import Client, payload_room, sio_room

logger = logging.getLogger(__name__)

# A client refused for rate limit this many times within FLOOD_WINDOW_S is disconnected: past
# that point it is a script, and each refusal still costs the server a little.
FLOOD_STRIKES = 20
FLOOD_WINDOW_S = 10.0
# A refusal for the same person and reason is logged once per this many seconds.
LOG_EVERY_S = 10.0


class NotJoined(InvalidInput):
    code = "not_joined"


class ChatHandlers:
    def __init__(self, app: web.Application) -> None:
        self.app = app
        self.realtime = app[REALTIME]
        # Node-local on purpose: a sid lives on one node, and log throttling is per process.
        self._strikes: dict[str, tuple[float, int]] = {}
        self._logged: dict[tuple[str, str], tuple[float, int]] = {}

    def register(self) -> None:
        on = self.realtime.on
        # Everyone's events are room-scoped too: the room decides whether the sender is staff
        # there (their badge, no slow mode).
        on(ev.CHAT_JOIN, ev.RoomPayload, room=payload_room)(self.join)
        on(ev.CHAT_HISTORY, ev.HistoryPayload)(self.history)
        on(ev.CHAT_SEND, ev.SendPayload, room=payload_room)(self.send)
        # Moderation is moderator OR host OR operator of the payload's room (role_allows: an
        # operator or host may do what a moderator may).
        mod = Role.MODERATOR
        on(ev.CHAT_REMOVE, ev.RemovePayload, mod, room=payload_room)(self.remove)
        on(ev.CHAT_TIMEOUT, ev.TimeoutPayload, mod, room=payload_room)(self.timeout)
        on(ev.CHAT_BAN, ev.BanPayload, mod, room=payload_room)(self.ban)
        on(ev.CHAT_UNBAN, ev.UnbanPayload, mod, room=payload_room)(self.unban)
        on(ev.CHAT_SLOW_MODE, ev.SlowModePayload, mod, room=payload_room)(self.slow_mode)
        on(ev.CHAT_FILTER, ev.FilterPayload, mod, room=payload_room)(self.filter)
        on(ev.CHAT_SETTINGS, ev.RoomPayload, mod, room=payload_room)(self.settings)
        on(ev.CHAT_SANCTIONS, ev.RoomPayload, mod, room=payload_room)(self.sanctions)
        on(ev.CHAT_MODLOG, ev.ModlogPayload, mod, room=payload_room)(self.modlog)

    # -- everyone -------------------------------------------------------------------------------

    async def join(self, client: Client, p: ev.RoomPayload) -> dict[str, Any]:
        if await self.app[ROOMS].get(p.room) is None:
            raise NotFound(f"no room {p.room!r}")
        await self.realtime.sio.enter_room(client.sid, sio_room(p.room))
        chat, moderation = self.app[CHAT], self.app[MODERATION]
        messages = await chat.history(p.room)
        state = await moderation.state(p.room)
        staff = can_moderate(client.role)
        restriction = None
        if client.user_id is not None and not staff:
            found = state.restriction(client.user_id, client.device, client.ip, moderation.clock())
            if found is not None:
                restriction = {"kind": found.kind.value, "until": ev.iso(found.expires_at)}
        return {
            "ok": True,
            "room": p.room,
            "messages": [ev.message_public(m) for m in messages],
            "slow_mode_s": state.settings.slow_mode_s,
            "max_chars": chat.limits.max_chars,
            "me": {
                "signed_in": client.user_id is not None,
                "user_id": client.user_id,
                "role": client.role.value,
                "can_moderate": staff,
                "restriction": restriction,
            },
        }

    async def history(self, client: Client, p: ev.HistoryPayload) -> dict[str, Any]:
        messages = await self.app[CHAT].history(p.room, p.limit, p.before_id)
        return {"ok": True, "messages": [ev.message_public(m) for m in messages]}

    # -- signed-in users ------------------------------------------------------------------------

    async def send(self, client: Client, p: ev.SendPayload) -> dict[str, Any]:
        if not self._joined(client.sid, p.room):
            return self._refused(client, NotJoined("join the room's chat first (chat:join)"))
        author = None
        if client.user_id is not None:
            author = Author(
                client.user_id, client.nickname, client.role, client.community, client.device, client.ip
            )
        try:
            message = await self.app[CHAT].send(author, p.room, p.text)
        except DomainError as exc:
            return self._refused(client, exc)
        except Exception:
            # Not stored, so not accepted: nobody sees it and the sender is told to send again.
            logger.exception("chat message not stored", extra={"room": p.room, "user": client.label})
            return error_reply("unavailable", "the message could not be stored: send it again")
        public = ev.message_public(message)
        self.app[CHAT_FANOUT].message(p.room, public)
        return {"ok": True, "message": public}

    def _joined(self, sid: str, room_id: str) -> bool:
        # The manager's own room index: sio.rooms(sid) walks every room on the node (each client
        # has one of its own), which costs milliseconds per message with 2,000 viewers.
        members = self.realtime.sio.manager.rooms.get("/", {}).get(sio_room(room_id))
        return members is not None and sid in members

    def _refused(self, client: Client, exc: DomainError) -> dict[str, Any]:
        now = time.monotonic()
        key = (client.label, exc.code)
        last, suppressed = self._logged.get(key, (float("-inf"), 0))
        if now - last >= LOG_EVERY_S:
            more = f" (+{suppressed} more like it)" if suppressed else ""
            logger.warning(
                "%s refused: %s%s", ev.CHAT_SEND, exc.message, more,
                extra={"sid": client.sid, "user": client.label, "error": exc.code},
            )
            self._logged[key] = (now, 0)
            if len(self._logged) > 10_000:
                self._logged = {k: v for k, v in self._logged.items() if now - v[0] < LOG_EVERY_S}
        else:
            self._logged[key] = (last, suppressed + 1)
        if exc.code == "rate_limited":
            self._strike(client, now)
        reply: dict[str, Any] = error_reply(exc.code, exc.message)
        retry_after = getattr(exc, "retry_after", None)
        if isinstance(retry_after, float):
            reply["retry_after"] = round(retry_after, 3)
        return reply

    def _strike(self, client: Client, now: float) -> None:
        since, count = self._strikes.get(client.sid, (now, 0))
        if now - since > FLOOD_WINDOW_S:
            since, count = now, 0
        count += 1
        self._strikes[client.sid] = (since, count)
        if len(self._strikes) > 10_000:
            self._strikes = {k: v for k, v in self._strikes.items() if now - v[0] <= FLOOD_WINDOW_S}
        if count == FLOOD_STRIKES:
            logger.warning(
                "flooding chat: disconnected", extra={"sid": client.sid, "user": client.label, "error": "flood"}
            )
            self._strikes.pop(client.sid, None)
            self.realtime.sio.start_background_task(self.realtime.sio.disconnect, client.sid)

    # -- moderators, hosts, operators -----------------------------------------------------------

    async def _actor(self, client: Client, room_id: str) -> Actor:
        if not can_moderate(client.role):
            raise Forbidden("only moderators, hosts and operators moderate chat")
        if await self.app[ROOMS].get(room_id) is None:
            raise NotFound(f"no room {room_id!r}")
        return Actor(client.user_id, client.nickname or client.label, client.role)

    async def remove(self, client: Client, p: ev.RemovePayload) -> dict[str, Any]:
        actor = await self._actor(client, p.room)
        ids = list(await self.app[MODERATION].remove(actor, p.room, p.id, p.reason))
        await self.app[CHAT_FANOUT].removed(p.room, ids)
        logger.info("chat message removed", extra={"room": p.room, "user": client.label})
        return {"ok": True, "ids": ids}

    async def timeout(self, client: Client, p: ev.TimeoutPayload) -> dict[str, Any]:
        actor = await self._actor(client, p.room)
        result = await self.app[MODERATION].timeout(actor, p.room, Target(p.user_id, p.message_id), p.minutes, p.reason)
        assert result.sanction is not None
        await self._announce(p.room, result.sanction)
        logger.info("chat timeout for user %s", result.sanction.user_id, extra={"room": p.room, "user": client.label})
        return {"ok": True, "sanction": ev.sanction_public(result.sanction)}

    async def ban(self, client: Client, p: ev.BanPayload) -> dict[str, Any]:
        actor = await self._actor(client, p.room)
        result = await self.app[MODERATION].ban(actor, p.room, Target(p.user_id, p.message_id), p.reason)
        assert result.sanction is not None
        if result.removed:
            await self.app[CHAT_FANOUT].removed(p.room, list(result.removed))
        await self._announce(p.room, result.sanction)
        logger.info("chat ban for user %s", result.sanction.user_id, extra={"room": p.room, "user": client.label})
        return {"ok": True, "sanction": ev.sanction_public(result.sanction), "removed": list(result.removed)}

    async def unban(self, client: Client, p: ev.UnbanPayload) -> dict[str, Any]:
        actor = await self._actor(client, p.room)
        result = await self.app[MODERATION].unban(actor, p.room, p.user_id)
        await self.realtime.sio.emit(ev.CHAT_LIFTED, {"room": p.room, "user_ids": [p.user_id]}, room=sio_room(p.room))
        logger.info("chat sanctions lifted for user %s", p.user_id, extra={"room": p.room, "user": client.label})
        return {"ok": True, "lifted": [ev.sanction_public(s) for s in result.lifted]}

    async def slow_mode(self, client: Client, p: ev.SlowModePayload) -> dict[str, Any]:
        actor = await self._actor(client, p.room)
        settings = await self.app[MODERATION].set_slow_mode(actor, p.room, p.seconds)
        await self.realtime.sio.emit(
            ev.CHAT_MODE, {"room": p.room, "slow_mode_s": settings.slow_mode_s}, room=sio_room(p.room)
        )
        logger.info("chat slow mode %s s", settings.slow_mode_s, extra={"room": p.room, "user": client.label})
        return {"ok": True, "slow_mode_s": settings.slow_mode_s}

    async def filter(self, client: Client, p: ev.FilterPayload) -> dict[str, Any]:
        actor = await self._actor(client, p.room)
        moderation = self.app[MODERATION]
        settings = await moderation.set_blocked_words(actor, p.room, p.words)
        logger.info("chat word list set (%d)", len(settings.blocked_words), extra={"room": p.room, "user": client.label})
        return {"ok": True, "words": list(settings.blocked_words), "global_words": list(moderation.global_words)}

    async def settings(self, client: Client, p: ev.RoomPayload) -> dict[str, Any]:
        actor = await self._actor(client, p.room)
        moderation = self.app[MODERATION]
        settings = await moderation.settings(actor, p.room)
        return {
            "ok": True, "slow_mode_s": settings.slow_mode_s, "words": list(settings.blocked_words),
            "global_words": list(moderation.global_words),
        }

    async def sanctions(self, client: Client, p: ev.RoomPayload) -> dict[str, Any]:
        actor = await self._actor(client, p.room)
        found = await self.app[MODERATION].sanctions(actor, p.room)
        return {"ok": True, "sanctions": [ev.sanction_public(s) for s in found]}

    async def modlog(self, client: Client, p: ev.ModlogPayload) -> dict[str, Any]:
        actor = await self._actor(client, p.room)
        entries = await self.app[MODERATION].log(actor, p.room, p.limit, p.before_id)
        return {"ok": True, "entries": [ev.entry_public(e) for e in entries]}

    async def _announce(self, room_id: str, sanction: Sanction) -> None:
        await self.realtime.sio.emit(ev.CHAT_SANCTIONED, {
            "room": room_id, "kind": sanction.kind.value, "user_id": sanction.user_id,
            "nickname": sanction.nickname, "until": ev.iso(sanction.expires_at),
        }, room=sio_room(room_id))
