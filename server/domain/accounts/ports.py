"""What the accounts service needs from persistence."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from .limits import Limit
from .sessions import Invite, LoginCode, Session
from .users import User


class UserRepository(Protocol):
    async def get(self, user_id: int) -> User | None: ...
    async def by_identifier(self, identifier: str) -> User | None: ...
    async def add(self, user: User) -> User:
        """Raises Conflict when the identifier is taken."""
    async def save(self, user: User) -> None: ...


class SessionRepository(Protocol):
    async def add(self, session: Session) -> Session: ...
    async def by_hash(self, token_hash: str) -> Session | None: ...
    async def revoke(self, session_id: int) -> None: ...
    async def revoke_user(self, user_id: int) -> None: ...


class LoginCodeRepository(Protocol):
    async def put(self, code: LoginCode) -> None:
        """Replaces the identifier's code (a new code starts with no tries used)."""
    async def take_try(self, identifier: str, now: datetime, max_tries: int) -> str | None:
        """Atomically uses one try of the live code: its hash, or None (none, expired, used up)."""
    async def use(self, identifier: str, code_hash: str) -> bool:
        """Deletes this code; False if it was already used or replaced (atomic)."""


class AttemptLimiter(Protocol):
    """Counts sign-in attempts per key (see limits.py): in-process, or in Redis across nodes."""

    async def take(self, key: str, limit: Limit) -> float:
        """Counts one attempt: 0.0 if it may go ahead, else the seconds until one may."""
    async def give_back(self, key: str) -> None:
        """Uncounts one attempt that succeeded (a shared address keeps only its failures)."""
    async def clear(self, key: str) -> None: ...


class InviteRepository(Protocol):
    async def add(self, invite: Invite) -> Invite: ...
    async def by_hash(self, token_hash: str) -> Invite | None: ...
    async def claim(self, invite_id: int, user_id: int) -> bool:
        """Marks the invite used by this user; False if it was already used (atomic)."""
