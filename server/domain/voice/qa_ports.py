"""What the Q&A rules need from storage."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from .qa import Pin, Question, QuestionStatus


class QuestionRepository(Protocol):
    async def add(self, question: Question) -> Question: ...
    async def get(self, question_id: int) -> Question | None: ...
    async def queue(self, room_id: str, statuses: Collection[QuestionStatus], limit: int) -> list[Question]:
        """Most votes first, then oldest first."""
    async def open_by(self, room_id: str, asker_id: int) -> list[Question]:
        """The asker's unanswered, visible questions in the room."""
    async def voted_in_room(self, room_id: str, user_id: int) -> set[int]: ...
    async def asked_in_room(self, room_id: str, user_id: int) -> set[int]: ...
    async def vote(self, question_id: int, user_id: int, up: bool, at: datetime) -> int:
        """Record (up) or retract the user's one vote, atomically; returns the new count."""
    async def save_answer(self, question_id: int, answer: str, by: int | None, at: datetime) -> Question | None: ...
    async def set_hidden(self, question_id: int, hidden: bool, at: datetime) -> Question | None: ...
    async def answered_since(self, scope: str, since: datetime | None) -> list[Question]:
        """Questions of the scope with an answer (hidden ones too) changed at or after `since`."""
    async def pin(self, pin: Pin) -> None:
        """Make this the room's one pinned question (replacing any other)."""
    async def unpin(self, room_id: str, only: int | None = None) -> int | None:
        """Remove the room's pin (only if it is question `only`, when given); the id it held."""
    async def pinned(self, room_id: str) -> Pin | None: ...
