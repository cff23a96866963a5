"""Identity changes: a version per account or API token, bumped whenever what it may do changes
(sign-out, role change, grant change, token revocation), and the listeners that act on it.

An open Socket.IO connection learns who it is once, on connect; before each privileged event it
compares the version it saw with the current one (one dictionary or Redis read) and re-reads the
caller only when they differ. Listeners close the connections of a caller who lost power.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

from .grants import Subject

logger = logging.getLogger(__name__)


class IdentityVersions(Protocol):
    """Where the versions live: in-process on one node, in Redis across nodes."""

    async def current(self, subject: Subject) -> int: ...
    async def bump(self, subject: Subject) -> int: ...


class Change(StrEnum):
    SIGNED_OUT = "signed_out"
    ROLE_CHANGED = "role_changed"
    GRANT_ADDED = "grant_added"
    GRANT_REMOVED = "grant_removed"
    TOKEN_REVOKED = "token_revoked"

    @property
    def ends_connections(self) -> bool:
        """A caller who may have lost power is disconnected: their sockets sit in moderators'
        channels that a re-check on the next event would not take them out of."""
        return self is not Change.GRANT_ADDED


@dataclass(frozen=True)
class IdentityChanged:
    subject: Subject
    change: Change
    version: int
    # Signing out ends one session: only its connections close (the others re-check).
    session_hash: str | None = None


Listener = Callable[[IdentityChanged], Awaitable[None]]


class IdentityChanges:
    def __init__(self, versions: IdentityVersions) -> None:
        self.versions = versions
        self._listeners: list[Listener] = []

    def subscribe(self, listener: Listener) -> None:
        self._listeners.append(listener)

    async def current(self, subject: Subject) -> int:
        return await self.versions.current(subject)

    async def changed(self, subject: Subject, change: Change, *, session_hash: str | None = None) -> None:
        try:
            version = await self.versions.bump(subject)
        except Exception:
            # The change itself is stored (session revoked, role saved): the listeners still close
            # this node's connections; other nodes' re-read them within identity_recheck_s.
            logger.exception("could not bump the identity version", extra={"user": subject.key})
            version = -1
        logger.info("identity %s: %s (version %d)", subject.key, change.value, version)
        event = IdentityChanged(subject, change, version, session_hash)
        for listener in self._listeners:
            try:
                await listener(event)
            except Exception:
                # The version is already bumped: a connection a listener failed to close is
                # refused on its next privileged event anyway.
                logger.exception("identity listener failed", extra={"user": subject.key})


class MemoryIdentityVersions:
    """One node: the versions in a dictionary (they start at 0 after a restart, as do sockets)."""

    def __init__(self) -> None:
        self._versions: dict[str, int] = {}

    async def current(self, subject: Subject) -> int:
        return self._versions.get(subject.key, 0)

    async def bump(self, subject: Subject) -> int:
        version = self._versions.get(subject.key, 0) + 1
        self._versions[subject.key] = version
        return version
