"""Room-scoped grants: who hosts or moderates which room.

Operators are global. Host and moderator power over a room comes only from a grant for that room:
an account whose own role says "host" or "moderator" but holds no grant for room X has a viewer's
power in X (the account role still says what it does outside rooms: a host records trace events).
A grant names a user or an API token. Operators grant anything; a room's host may appoint and
remove that room's moderators, never hosts, never in another room.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Protocol

from ..errors import Forbidden, InvalidInput, NotFound
from .roles import Role

logger = logging.getLogger(__name__)

# The roles a grant may carry: what one room can be given.
GRANTABLE = frozenset({Role.HOST, Role.MODERATOR})


def room_role(account_role: Role, granted: Role | None) -> Role:
    """What a caller may do in one room: an operator everything, otherwise what the room's grant
    says; without a grant, a host or moderator account is a viewer there."""
    if account_role is Role.OPERATOR:
        return Role.OPERATOR
    if granted is not None:
        return granted
    if account_role in GRANTABLE:
        return Role.VIEWER
    return account_role


class SubjectKind(StrEnum):
    USER = "user"
    TOKEN = "token"


@dataclass(frozen=True)
class Subject:
    """Who holds a grant: an account or an API token."""

    kind: SubjectKind
    id: int

    @property
    def key(self) -> str:
        return f"{self.kind.value}:{self.id}"


def user_subject(user_id: int) -> Subject:
    return Subject(SubjectKind.USER, user_id)


def token_subject(token_id: int) -> Subject:
    return Subject(SubjectKind.TOKEN, token_id)


@dataclass(frozen=True)
class RoomGrant:
    room_id: str
    subject: Subject
    role: Role
    granted_by: str  # who gave it, as a label ("user:3", "token:cli", "cli")
    created_at: datetime


class GrantRepository(Protocol):
    async def for_subject(self, subject: Subject) -> list[RoomGrant]: ...
    async def for_room(self, room_id: str) -> list[RoomGrant]: ...
    async def put(self, grant: RoomGrant) -> RoomGrant:
        """Adds the grant, or changes the role of the subject's existing grant in that room."""
    async def remove(self, room_id: str, subject: Subject) -> RoomGrant | None:
        """The removed grant, or None when there was none."""


class GrantNotFound(NotFound):
    code = "grant_not_found"


# Told of every change, so open connections re-check (and lose what was taken away).
GrantsChanged = Callable[[Subject, bool], Awaitable[None]]


def grants_map(grants: list[RoomGrant]) -> dict[str, Role]:
    return {g.room_id: g.role for g in grants}


def check_may_grant(granter_room_role: Role, role: Role) -> None:
    """Operators grant host or moderator; a room's host appoints moderators of that room only."""
    if role not in GRANTABLE:
        raise InvalidInput("a room grant is host or moderator (operators are global, set with the account role)")
    if granter_room_role is Role.OPERATOR:
        return
    if granter_room_role is Role.HOST and role is Role.MODERATOR:
        return
    if granter_room_role is Role.HOST:
        raise Forbidden("a room's host appoints moderators; only operators appoint hosts")
    raise Forbidden("only operators and this room's host manage its grants")


class GrantService:
    def __init__(
        self,
        grants: GrantRepository,
        *,
        changed: GrantsChanged | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.grants = grants
        self._changed = changed
        self.clock = clock

    def on_change(self, changed: GrantsChanged) -> None:
        self._changed = changed

    async def of(self, subject: Subject) -> dict[str, Role]:
        return grants_map(await self.grants.for_subject(subject))

    async def in_room(self, room_id: str) -> list[RoomGrant]:
        return await self.grants.for_room(room_id)

    async def grant(
        self, granter_room_role: Role, by: str, room_id: str, subject: Subject, role: Role
    ) -> RoomGrant:
        check_may_grant(granter_room_role, role)
        if granter_room_role is not Role.OPERATOR:
            existing = {g.subject: g for g in await self.grants.for_room(room_id)}.get(subject)
            if existing is not None and existing.role is Role.HOST:
                raise Forbidden("a room's host cannot change another host's grant")
        grant = await self.grants.put(RoomGrant(room_id, subject, role, by, self.clock()))
        logger.info("room grant %s for %s", role.value, subject.key, extra={"room": room_id, "user": by})
        await self._tell(subject, lost=False)
        return grant

    async def revoke(self, granter_room_role: Role, by: str, room_id: str, subject: Subject) -> RoomGrant:
        existing = {g.subject: g for g in await self.grants.for_room(room_id)}.get(subject)
        if existing is None:
            raise GrantNotFound(f"{subject.key} holds no grant in room {room_id!r}")
        check_may_grant(granter_room_role, existing.role)
        removed = await self.grants.remove(room_id, subject)
        if removed is None:
            raise GrantNotFound(f"{subject.key} holds no grant in room {room_id!r}")
        logger.info("room grant %s removed from %s", removed.role.value, subject.key, extra={"room": room_id, "user": by})
        await self._tell(subject, lost=True)
        return removed

    async def _tell(self, subject: Subject, *, lost: bool) -> None:
        if self._changed is not None:
            await self._changed(subject, lost)


def describe(grants: Mapping[str, Role]) -> list[dict[str, str]]:
    return [{"room": room, "role": role.value} for room, role in sorted(grants.items())]
