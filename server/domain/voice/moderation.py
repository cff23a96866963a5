"""Chat moderation: who may moderate, what they may do, and the log that records every action.

Moderators, hosts and operators remove messages, time people out, ban and unban, set slow mode and
the room's blocked words. Each action and its log entry are written in one transaction, so no
action goes unlogged. Each node keeps a short-lived copy of a room's moderation state (settings,
word filter, sanctions in force) so a busy room does not read the database for every message; this
node's own changes replace the copy at once.
"""

from __future__ import annotations

import asyncio
import time
import unicodedata
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from ..accounts.ports import UserRepository
from ..accounts.roles import Role
from ..accounts.users import User
from ..errors import Forbidden, InvalidInput, NotFound
from .errors import StaffNotSanctioned
from .keywords import clean_words
from .sanctions import ChatRoomSettings, RoomModeration, Sanction, SanctionKind

if TYPE_CHECKING:
    from .ports import ChatRepository, ModerationRepository

STAFF = frozenset({Role.OPERATOR, Role.HOST, Role.MODERATOR})
MAX_TIMEOUT_MINUTES = 7 * 24 * 60
MAX_SLOW_MODE_S = 600
MAX_REASON_CHARS = 200


def can_moderate(role: Role) -> bool:
    """Moderators, hosts and operators: they moderate, and no rate limit or sanction slows them."""
    return role in STAFF


class ModAction(StrEnum):
    REMOVE = "remove"
    TIMEOUT = "timeout"
    BAN = "ban"
    UNBAN = "unban"
    SLOW_MODE = "slow_mode"
    FILTER = "filter"


@dataclass(frozen=True)
class Actor:
    """Who moderates: a signed-in user, or an API token (user_id None, name = its label)."""

    user_id: int | None
    name: str
    role: Role


@dataclass(frozen=True)
class ModerationEntry:
    id: int | None
    room_id: str
    action: ModAction
    actor_id: int | None
    actor_name: str
    created_at: datetime
    target_user_id: int | None = None
    target_name: str = ""
    message_ids: tuple[int, ...] = ()
    detail: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ModerationChange:
    """One moderation action as the repository applies it, together with its log entry."""

    entry: ModerationEntry
    remove_ids: tuple[int, ...] = ()  # hide these messages (of entry.room_id)
    remove_user: int | None = None  # hide every message of this user in entry.room_id
    sanction: Sanction | None = None  # add it
    lift_user: int | None = None  # lift the user's bans, and their timeouts in entry.room_id
    slow_mode_s: int | None = None
    blocked_words: tuple[str, ...] | None = None
    # A removal that finds nothing left to remove writes nothing (two moderators, one message).
    only_if_removed: bool = False


@dataclass(frozen=True)
class ModerationResult:
    entry: ModerationEntry | None
    removed: tuple[int, ...] = ()
    sanction: Sanction | None = None
    lifted: tuple[Sanction, ...] = ()


@dataclass(frozen=True)
class Target:
    """Whom a timeout or ban is aimed at: one of them, by account or by one of their messages."""

    user_id: int | None = None
    message_id: int | None = None


@dataclass(frozen=True)
class _Resolved:
    user_id: int
    nickname: str
    device: str
    ip: str


def clean_reason(raw: str) -> str:
    text = "".join(ch for ch in unicodedata.normalize("NFC", raw) if unicodedata.category(ch)[0] != "C")
    text = " ".join(text.split())
    if len(text) > MAX_REASON_CHARS:
        raise InvalidInput(f"a reason is at most {MAX_REASON_CHARS} characters")
    return text


def _utcnow() -> datetime:
    return datetime.now(UTC)


class ModerationService:
    def __init__(
        self,
        repo: ModerationRepository,
        messages: ChatRepository,
        users: UserRepository,
        *,
        global_words: Sequence[str] = (),
        state_ttl_s: float = 1.0,
        ip_hold: timedelta = timedelta(hours=24),
        clock: Callable[[], datetime] = _utcnow,
        monotonic: Callable[[], float] = time.monotonic,
        role_in_room: Callable[[User, str], Awaitable[Role]] | None = None,
    ) -> None:
        self.repo = repo
        # What a target may do in the room (staff there cannot be sanctioned there); by default
        # their account role. The app plugs in room grants.
        self.role_in_room = role_in_room
        self.messages = messages
        self.users = users
        self.global_words = clean_words(global_words)
        self.state_ttl_s = state_ttl_s
        self.ip_hold = ip_hold
        self.clock = clock
        self.monotonic = monotonic
        self._cache: dict[str, tuple[float, RoomModeration]] = {}
        self._locks: dict[str, asyncio.Lock] = {}
        self._generation = 0

    # -- the state a room enforces --------------------------------------------------------------

    async def state(self, room_id: str) -> RoomModeration:
        cached = self._cache.get(room_id)
        if cached is not None and self.monotonic() - cached[0] < self.state_ttl_s:
            return cached[1]
        # One load per room at a time: a burst of messages on a stale copy waits for one read.
        async with self._locks.setdefault(room_id, asyncio.Lock()):
            cached = self._cache.get(room_id)
            if cached is not None and self.monotonic() - cached[0] < self.state_ttl_s:
                return cached[1]
            generation, loaded_at = self._generation, self.monotonic()
            settings = await self.repo.settings(room_id)
            sanctions = await self.repo.active_sanctions(room_id, self.clock())
            state = RoomModeration(settings, sanctions, global_words=self.global_words, ip_hold=self.ip_hold)
            if generation == self._generation:  # nothing changed here while we read
                self._cache[room_id] = (loaded_at, state)
            return state

    def invalidate(self, room_id: str | None = None) -> None:
        self._generation += 1
        if room_id is None:
            self._cache.clear()
        else:
            self._cache.pop(room_id, None)

    async def restriction(self, room_id: str, user_id: int | None, device: str, ip: str) -> Sanction | None:
        state = await self.state(room_id)
        return state.restriction(user_id, device, ip, self.clock())

    # -- actions --------------------------------------------------------------------------------

    def _check(self, actor: Actor) -> None:
        if not can_moderate(actor.role):
            raise Forbidden("only moderators, hosts and operators moderate chat")

    def _entry(self, actor: Actor, room_id: str, action: ModAction, **more: Any) -> ModerationEntry:
        return ModerationEntry(None, room_id, action, actor.user_id, actor.name, self.clock(), **more)

    async def remove(self, actor: Actor, room_id: str, message_id: int, reason: str = "") -> tuple[int, ...]:
        """Hides a message for everyone; history no longer returns it. Returns the removed ids."""
        self._check(actor)
        reason = clean_reason(reason)
        message = await self.messages.get(message_id)
        if message is None or message.room_id != room_id:
            raise NotFound("no such message in this room")
        entry = self._entry(
            actor, room_id, ModAction.REMOVE, target_user_id=message.user_id, target_name=message.nickname,
            detail={"reason": reason, "text": message.text},
        )
        result = await self.repo.apply(ModerationChange(entry, remove_ids=(message_id,), only_if_removed=True))
        if not result.removed:
            raise NotFound("the message has already been removed")
        return result.removed

    async def timeout(self, actor: Actor, room_id: str, target: Target, minutes: int, reason: str = "") -> ModerationResult:
        self._check(actor)
        if not 1 <= minutes <= MAX_TIMEOUT_MINUTES:
            raise InvalidInput(f"a timeout is 1 to {MAX_TIMEOUT_MINUTES} minutes")
        who = await self._resolve(room_id, target)
        reason = clean_reason(reason)
        now = self.clock()
        sanction = Sanction(
            None, SanctionKind.TIMEOUT, room_id, who.user_id, who.nickname, who.device, who.ip, reason,
            actor.user_id, now, expires_at=now + timedelta(minutes=minutes),
        )
        entry = self._entry(
            actor, room_id, ModAction.TIMEOUT, target_user_id=who.user_id, target_name=who.nickname,
            message_ids=(target.message_id,) if target.message_id else (),
            detail={"minutes": minutes, "reason": reason},
        )
        result = await self.repo.apply(ModerationChange(entry, sanction=sanction))
        self.invalidate(room_id)
        return result

    async def ban(self, actor: Actor, room_id: str, target: Target, reason: str = "") -> ModerationResult:
        """Bans from chat in every room, and removes the person's messages in this room."""
        self._check(actor)
        who = await self._resolve(room_id, target)
        reason = clean_reason(reason)
        now = self.clock()
        sanction = Sanction(
            None, SanctionKind.BAN, room_id, who.user_id, who.nickname, who.device, who.ip, reason,
            actor.user_id, now,
        )
        entry = self._entry(
            actor, room_id, ModAction.BAN, target_user_id=who.user_id, target_name=who.nickname,
            message_ids=(target.message_id,) if target.message_id else (),
            detail={"reason": reason},
        )
        result = await self.repo.apply(ModerationChange(entry, sanction=sanction, remove_user=who.user_id))
        self.invalidate()
        return result

    async def unban(self, actor: Actor, room_id: str, user_id: int) -> ModerationResult:
        """Lifts the person's bans, and their timeouts in this room."""
        self._check(actor)
        user = await self.users.get(user_id)
        entry = self._entry(
            actor, room_id, ModAction.UNBAN, target_user_id=user_id, target_name=user.nickname if user else "",
        )
        live = [
            s for s in await self.repo.active_sanctions(room_id, self.clock()) if s.user_id == user_id
        ]
        if not live:
            raise NotFound("this person is neither banned nor timed out here")
        result = await self.repo.apply(ModerationChange(entry, lift_user=user_id))
        self.invalidate()
        return result

    async def set_slow_mode(self, actor: Actor, room_id: str, seconds: int) -> ChatRoomSettings:
        self._check(actor)
        if not 0 <= seconds <= MAX_SLOW_MODE_S:
            raise InvalidInput(f"slow mode is 0 (off) to {MAX_SLOW_MODE_S} seconds")
        entry = self._entry(actor, room_id, ModAction.SLOW_MODE, detail={"seconds": seconds})
        await self.repo.apply(ModerationChange(entry, slow_mode_s=seconds))
        self.invalidate(room_id)
        return (await self.state(room_id)).settings

    async def set_blocked_words(self, actor: Actor, room_id: str, words: Sequence[str]) -> ChatRoomSettings:
        """Replaces the room's own list (the server-wide list from the settings applies as well)."""
        self._check(actor)
        cleaned = clean_words(words)
        before = set((await self.repo.settings(room_id)).blocked_words)
        entry = self._entry(actor, room_id, ModAction.FILTER, detail={
            "added": [w for w in cleaned if w not in before],
            "removed": sorted(before - set(cleaned)),
            "count": len(cleaned),
        })
        await self.repo.apply(ModerationChange(entry, blocked_words=cleaned))
        self.invalidate(room_id)
        return (await self.state(room_id)).settings

    # -- reading --------------------------------------------------------------------------------

    async def log(self, actor: Actor, room_id: str, limit: int = 50, before_id: int | None = None) -> list[ModerationEntry]:
        self._check(actor)
        return await self.repo.entries(room_id, max(1, min(limit, 200)), before_id)

    async def sanctions(self, actor: Actor, room_id: str) -> list[Sanction]:
        self._check(actor)
        return await self.repo.active_sanctions(room_id, self.clock())

    async def settings(self, actor: Actor, room_id: str) -> ChatRoomSettings:
        self._check(actor)
        return (await self.state(room_id)).settings

    # -- whom an action is aimed at -------------------------------------------------------------

    async def _resolve(self, room_id: str, target: Target) -> _Resolved:
        if (target.user_id is None) == (target.message_id is None):
            raise InvalidInput("name the person by user_id or by one of their message_id")
        if target.message_id is not None:
            message = await self.messages.get(target.message_id)
            if message is None or message.room_id != room_id:
                raise NotFound("no such message in this room")
            user_id, device, ip = message.user_id, message.device, message.ip
        else:
            assert target.user_id is not None
            user_id = target.user_id
            # The device and address they last chatted from, so the sanction follows them there.
            latest = await self.messages.latest_by_user(user_id)
            device, ip = (latest.device, latest.ip) if latest else ("", "")
        user = await self.users.get(user_id)
        if user is None:
            raise NotFound("no such user")
        role = await self.role_in_room(user, room_id) if self.role_in_room is not None else user.role
        if can_moderate(role):
            raise StaffNotSanctioned()
        return _Resolved(user_id, user.nickname, device, ip)
