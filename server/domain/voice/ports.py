"""What chat and moderation need from outside: storage and a throttle (memory or Redis)."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from .chat import ChatMessage
from .moderation import ModerationChange, ModerationEntry, ModerationResult
from .sanctions import ChatRoomSettings, Sanction


class ChatRepository(Protocol):
    async def add(self, message: ChatMessage) -> ChatMessage:
        """Stores the message (committed when this returns) and gives it its id."""
    async def recent(self, room_id: str, limit: int, before_id: int | None = None) -> list[ChatMessage]:
        """The room's last `limit` messages not removed (older than before_id), oldest first."""
    async def get(self, message_id: int) -> ChatMessage | None: ...
    async def latest_by_user(self, user_id: int) -> ChatMessage | None: ...


class ModerationRepository(Protocol):
    async def settings(self, room_id: str) -> ChatRoomSettings: ...
    async def active_sanctions(self, room_id: str, now: datetime) -> list[Sanction]:
        """Bans in force (they hold in every room) and this room's timeouts in force."""
    async def entries(self, room_id: str, limit: int, before_id: int | None = None) -> list[ModerationEntry]:
        """The room's moderation log, newest first."""
    async def apply(self, change: ModerationChange) -> ModerationResult:
        """Makes the change and writes its log entry in one transaction."""


class Throttle(Protocol):
    async def hit(self, key: str, burst: int, window_s: float) -> float:
        """Takes a token from the key's bucket: 0.0 if there was one, else seconds until there is."""
    async def claim(self, key: str, seconds: float) -> float:
        """One event per `seconds` per key: 0.0 (and the gate closes), else seconds until it opens."""
