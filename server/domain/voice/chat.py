"""Live chat: what a message is, how its text is cleaned, and the way a send is checked.

A send is refused as cheaply as possible: the per-user rate limit runs before anything touches a
database, then the text is cleaned, then the room's moderation state (a short-lived in-memory copy)
is consulted for sanctions, blocked words and slow mode; only then is the message stored. A message
is accepted when it is stored: the sender's reply and everyone else's copy come after that.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from ..accounts.roles import Role
from ..errors import Unauthorized
from .errors import BlockedWord, EmptyMessage, MessageTooLong, RateLimited, SlowMode
from .moderation import ModerationService, can_moderate
from .sanctions import refusal

if TYPE_CHECKING:
    from .ports import ChatRepository, Throttle

MAX_CHARS = 200
# Stacked combining marks past this are dropped ("Zalgo" text that spills over other lines).
MAX_COMBINING = 4
# Format characters kept: joiners inside emoji sequences and Persian/Indic words, and the plain
# direction marks. Bidi overrides/isolates and invisible spaces (used to dodge filters) are dropped.
_KEEP_FORMAT = frozenset("\u200c\u200d\u200e\u200f\u061c")


def _tag(ch: str) -> bool:
    # Tag characters spell out subdivision flags (🏴 England = black flag + tags).
    return "\U000e0020" <= ch <= "\U000e007f"


@dataclass(frozen=True)
class Author:
    """Who sends: their account (the nickname is the account's), and where from (for moderation)."""

    user_id: int
    nickname: str
    role: Role
    community: str = ""
    device: str = ""
    ip: str = ""


@dataclass(frozen=True)
class ChatMessage:
    id: int | None
    room_id: str
    user_id: int
    nickname: str
    role: Role
    text: str
    created_at: datetime
    community: str = ""
    device: str = ""  # kept for moderation (a ban follows the device); never sent to clients
    ip: str = ""  # likewise
    removed_at: datetime | None = None
    removed_by: int | None = None


def clean_text(raw: str, max_chars: int = MAX_CHARS) -> str:
    """Printable text on one line: controls become spaces, runs of spaces one space."""
    out: list[str] = []
    marks = 0
    for ch in unicodedata.normalize("NFC", raw):
        category = unicodedata.category(ch)
        if category in ("Cc", "Zl", "Zp"):
            out.append(" ")
            marks = 0
            continue
        if category == "Cs" or (category == "Cf" and ch not in _KEEP_FORMAT and not _tag(ch)):
            continue
        if category in ("Mn", "Me"):
            marks += 1
            if marks > MAX_COMBINING:
                continue
        else:
            marks = 0
        out.append(ch)
    text = " ".join("".join(out).split())
    if not text:
        raise EmptyMessage("the message is empty")
    if len(text) > max_chars:
        raise MessageTooLong(f"a message is at most {max_chars} characters (this one is {len(text)})")
    return text


@dataclass(frozen=True)
class ChatLimits:
    burst: int = 5  # messages at once ...
    window_s: float = 10.0  # ... refilled evenly over this
    history: int = 50  # messages a joining viewer gets
    max_chars: int = MAX_CHARS


def _utcnow() -> datetime:
    return datetime.now(UTC)


class ChatService:
    def __init__(
        self,
        messages: ChatRepository,
        moderation: ModerationService,
        throttle: Throttle,
        limits: ChatLimits = ChatLimits(),
        clock: Callable[[], datetime] = _utcnow,
    ) -> None:
        self.messages = messages
        self.moderation = moderation
        self.throttle = throttle
        self.limits = limits
        self.clock = clock

    async def send(self, author: Author | None, room_id: str, raw: str) -> ChatMessage:
        if author is None:
            raise Unauthorized("sign in to chat")
        staff = can_moderate(author.role)
        if not staff:
            wait = await self.throttle.hit(f"chat:rate:{author.user_id}", self.limits.burst, self.limits.window_s)
            if wait > 0:
                raise RateLimited(wait)
        text = clean_text(raw, self.limits.max_chars)
        state = await self.moderation.state(room_id)
        now = self.clock()
        if not staff:
            sanction = state.restriction(author.user_id, author.device, author.ip, now)
            if sanction is not None:
                raise refusal(sanction, now)
            word = state.filter.find(text)
            if word is not None:
                raise BlockedWord(word)
            # Last, so a message refused for anything else does not use up the sender's turn.
            if state.settings.slow_mode_s:
                wait = await self.throttle.claim(f"chat:slow:{room_id}:{author.user_id}", state.settings.slow_mode_s)
                if wait > 0:
                    raise SlowMode(wait)
        return await self.messages.add(ChatMessage(
            None, room_id, author.user_id, author.nickname, author.role, text, now,
            community=author.community, device=author.device, ip=author.ip,
        ))

    async def history(self, room_id: str, limit: int | None = None, before_id: int | None = None) -> list[ChatMessage]:
        count = self.limits.history if limit is None else max(0, min(limit, 200))
        if count == 0:
            return []
        return await self.messages.recent(room_id, count, before_id)
