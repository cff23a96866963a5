"""Q&A: viewers ask and upvote, moderators answer, hide and pin one answer per room to the stream.

Rules live here, storage behind `QuestionRepository`. Signed-in accounts ask and vote (one vote per
account, retractable); moderators, hosts and operators answer, hide and pin, and only they see
hidden questions. Suggested answers come from answered questions of the same brand, in any of its
rooms and past sessions (of the same room when the room has no brand): what a farm is asked
repeats from one broadcast to the next, whichever room it is in.
"""

from __future__ import annotations

import asyncio
import logging
import math
import sys
import unicodedata
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from ..accounts.roles import Role
from ..errors import Conflict, Forbidden, InvalidInput, NotFound, Unauthorized
from ..rooms import Room
from .chat import clean_text as clean_chat_text
from .errors import EmptyMessage
from .moderation import can_moderate
from .qa_ports import QuestionRepository
from .similarity import DEFAULT_THRESHOLD, SimilarityIndex
from .throttle import MemoryThrottle

if TYPE_CHECKING:
    from .ports import Throttle

logger = logging.getLogger(__name__)

QUESTION_MAX = 300
ANSWER_MAX = 1000
# An account's unanswered questions per room: enough to ask what you need, not to flood the queue.
OPEN_PER_ASKER = 5
# Per account, as token buckets (burst, refilled over seconds): each ask or vote is a broadcast to
# the whole room, so faster than a person taps is refused. Moderators are not limited.
ASK_RATE = (5, 60.0)
VOTE_RATE = (12, 20.0)
QUEUE_LIMIT = 200
SUGGESTIONS = 3
# Other nodes write answers too; re-reading a few seconds behind the newest change we saw keeps a
# node's suggestion index complete despite clock skew between nodes (re-adding a row is harmless).
SYNC_OVERLAP = timedelta(seconds=5)

Blocking = Callable[..., Awaitable[Any]]


def _utcnow() -> datetime:
    return datetime.now(UTC)


# -- errors -----------------------------------------------------------------------------------


class QuestionNotFound(NotFound):
    code = "question_not_found"


class SignInRequired(Unauthorized):
    code = "sign_in_required"


class NotAModerator(Forbidden):
    code = "forbidden"


class OwnQuestion(Forbidden):
    code = "own_question"


class TooManyOpen(Conflict):
    code = "too_many_open"


class DuplicateQuestion(Conflict):
    code = "duplicate_question"


class NotAnswered(Conflict):
    code = "not_answered"


class QuestionHidden(Conflict):
    code = "question_hidden"


class TooFast(InvalidInput):
    """Asking or voting faster than a person does (scripts, a stuck button): it costs every viewer a
    broadcast, so it waits."""

    code = "rate_limited"

    def __init__(self, what: str, retry_after: float) -> None:
        super().__init__(f"too many {what} at once: wait {max(1, math.ceil(retry_after))} s")
        self.retry_after = retry_after


class TextEmpty(InvalidInput):
    code = "text_empty"


class TextTooLong(InvalidInput):
    code = "text_too_long"


# -- values -----------------------------------------------------------------------------------


class QuestionStatus(StrEnum):
    OPEN = "open"
    ANSWERED = "answered"
    HIDDEN = "hidden"


class QueueFilter(StrEnum):
    PUBLIC = "public"  # what everyone sees: open and answered, not hidden
    OPEN = "open"
    ANSWERED = "answered"
    HIDDEN = "hidden"
    ALL = "all"

    @property
    def statuses(self) -> frozenset[QuestionStatus]:
        return {
            QueueFilter.PUBLIC: frozenset({QuestionStatus.OPEN, QuestionStatus.ANSWERED}),
            QueueFilter.OPEN: frozenset({QuestionStatus.OPEN}),
            QueueFilter.ANSWERED: frozenset({QuestionStatus.ANSWERED}),
            QueueFilter.HIDDEN: frozenset({QuestionStatus.HIDDEN}),
            QueueFilter.ALL: frozenset(QuestionStatus),
        }[self]


@dataclass(frozen=True)
class Actor:
    """Who acts: an account (user_id) or an API token (no user_id), with the role they hold."""

    user_id: int | None
    nickname: str
    role: Role

    @property
    def moderates(self) -> bool:
        return can_moderate(self.role)


@dataclass(frozen=True)
class Question:
    id: int | None
    room_id: str
    # Which answered questions this one is compared with: the room's brand, or the room itself.
    scope: str
    asker_id: int
    asker_nickname: str
    text: str
    created_at: datetime
    votes: int = 0
    answer: str | None = None
    answered_by: int | None = None
    answered_at: datetime | None = None
    hidden: bool = False
    updated_at: datetime | None = None

    @property
    def status(self) -> QuestionStatus:
        if self.hidden:
            return QuestionStatus.HIDDEN
        return QuestionStatus.ANSWERED if self.answer else QuestionStatus.OPEN


@dataclass(frozen=True)
class Pin:
    room_id: str
    question_id: int
    pinned_at: datetime
    pinned_by: int | None = None


@dataclass(frozen=True)
class Suggestion:
    """An earlier answer a moderator may reuse for a new question."""

    question_id: int
    room_id: str
    question: str
    answer: str
    score: float


@dataclass(frozen=True)
class HideResult:
    question: Question
    unpinned: bool  # it was the room's pinned card, which is now gone


# -- rules ------------------------------------------------------------------------------------


def require_moderator(actor: Actor) -> None:
    if not actor.moderates:
        raise NotAModerator("only moderators, hosts and operators may do this")


def scope_for(room: Room) -> str:
    brand = " ".join(room.brand.split()).casefold()
    return f"brand:{brand}" if brand else f"room:{room.id}"


def clean_text(raw: str, *, what: str, max_len: int) -> str:
    """User text as stored: chat's cleaning (one line, no controls, bidi overrides or zalgo), bounded.

    It is only ever shown as text (textContent, the overlay's own layout), so markup stays inert;
    cleaning removes what could make it render misleadingly.
    """
    try:
        text = clean_chat_text(raw, max_chars=sys.maxsize)
    except EmptyMessage:
        raise TextEmpty(f"the {what} is empty") from None
    if len(text) > max_len:
        raise TextTooLong(f"a {what} is at most {max_len} characters (this one has {len(text)})")
    return text


def _same_text(a: str, b: str) -> bool:
    return unicodedata.normalize("NFKC", a).casefold() == unicodedata.normalize("NFKC", b).casefold()


# -- the service ------------------------------------------------------------------------------


@dataclass
class _ScopeIndex:
    """One scope's answered questions, indexed; synced from the repository before each use."""

    index: SimilarityIndex = field(default_factory=SimilarityIndex)
    docs: dict[int, Question] = field(default_factory=dict)
    synced_to: datetime | None = None
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)


class QaService:
    def __init__(
        self,
        questions: QuestionRepository,
        *,
        throttle: Throttle | None = None,
        clock: Callable[[], datetime] = _utcnow,
        run_blocking: Blocking | None = None,
        threshold: float = DEFAULT_THRESHOLD,
    ) -> None:
        self.questions = questions
        # The chat's rate limiter (in memory, or in Redis so it holds across nodes).
        self.throttle: Throttle = throttle or MemoryThrottle()
        self.ask_rate = ASK_RATE
        self.vote_rate = VOTE_RATE
        self.clock = clock
        self.run_blocking: Blocking = run_blocking or asyncio.to_thread
        self.threshold = threshold
        # A cache of the repository's answered questions, never the record: every node keeps its
        # own and brings it up to date from the database before answering.
        self._indexes: dict[str, _ScopeIndex] = {}

    # -- viewers --------------------------------------------------------------------------------

    async def ask(self, room: Room, actor: Actor, raw_text: str) -> Question:
        if actor.user_id is None:
            raise SignInRequired("sign in to ask a question")
        text = clean_text(raw_text, what="question", max_len=QUESTION_MAX)
        await self._limit(actor, "questions", self.ask_rate)
        mine = await self.questions.open_by(room.id, actor.user_id)
        if any(_same_text(q.text, text) for q in mine):
            raise DuplicateQuestion("you have already asked this; it is in the queue")
        if len(mine) >= OPEN_PER_ASKER:
            raise TooManyOpen(
                f"you have {len(mine)} questions waiting for an answer; ask more once they are answered"
            )
        now = self.clock()
        question = Question(
            id=None, room_id=room.id, scope=scope_for(room), asker_id=actor.user_id,
            asker_nickname=actor.nickname, text=text, created_at=now, updated_at=now,
        )
        return await self.questions.add(question)

    async def vote(self, question_id: int, actor: Actor, up: bool) -> tuple[Question, bool]:
        """Add (up) or retract the actor's vote; repeating either is harmless. -> (question, voted)."""
        if actor.user_id is None:
            raise SignInRequired("sign in to vote")
        question = await self.visible(question_id, actor)
        if question.asker_id == actor.user_id:
            raise OwnQuestion("you cannot vote for your own question")
        await self._limit(actor, "votes", self.vote_rate)
        votes = await self.questions.vote(question_id, actor.user_id, up, self.clock())
        return replace(question, votes=votes), up

    async def _limit(self, actor: Actor, what: str, rate: tuple[int, float]) -> None:
        if actor.moderates:
            return
        wait = await self.throttle.hit(f"qa:{what}:{actor.user_id}", *rate)
        if wait > 0:
            raise TooFast(what, wait)

    async def visible(self, question_id: int, actor: Actor) -> Question:
        """The question, if this actor may see it (hidden ones only to moderators)."""
        question = await self.questions.get(question_id)
        if question is None or (question.hidden and not actor.moderates):
            raise QuestionNotFound(f"no question {question_id}")
        return question

    async def room_of(self, question_id: int) -> str:
        """The room a question was asked in: whose moderators may act on it."""
        question = await self.questions.get(question_id)
        if question is None:
            raise QuestionNotFound(f"no question {question_id}")
        return question.room_id

    async def queue(self, room_id: str, actor: Actor, which: QueueFilter = QueueFilter.PUBLIC) -> list[Question]:
        """A room's questions by votes (most first), then age (oldest first)."""
        if QuestionStatus.HIDDEN in which.statuses:
            require_moderator(actor)
        return await self.questions.queue(room_id, which.statuses, QUEUE_LIMIT)

    async def personal(self, room_id: str, actor: Actor) -> tuple[set[int], set[int]]:
        """(questions the actor voted for, questions the actor asked) in this room."""
        if actor.user_id is None:
            return set(), set()
        voted = await self.questions.voted_in_room(room_id, actor.user_id)
        mine = await self.questions.asked_in_room(room_id, actor.user_id)
        return voted, mine

    # -- moderators -----------------------------------------------------------------------------

    async def answer(self, question_id: int, actor: Actor, raw_text: str) -> Question:
        require_moderator(actor)
        text = clean_text(raw_text, what="answer", max_len=ANSWER_MAX)
        question = await self.visible(question_id, actor)
        if question.hidden:
            raise QuestionHidden("unhide the question before answering it")
        saved = await self.questions.save_answer(question_id, text, actor.user_id, self.clock())
        if saved is None:
            raise QuestionNotFound(f"no question {question_id}")
        return saved

    async def hide(self, question_id: int, actor: Actor, hidden: bool = True) -> HideResult:
        require_moderator(actor)
        await self.visible(question_id, actor)
        saved = await self.questions.set_hidden(question_id, hidden, self.clock())
        if saved is None:
            raise QuestionNotFound(f"no question {question_id}")
        unpinned = False
        if hidden:
            # A hidden question must leave the picture too.
            unpinned = await self.questions.unpin(saved.room_id, only=question_id) is not None
        return HideResult(saved, unpinned)

    async def pin(self, question_id: int, actor: Actor) -> Question:
        """Pin an answered question to its room's stream, replacing the room's pinned card."""
        require_moderator(actor)
        question = await self.visible(question_id, actor)
        if question.hidden:
            raise QuestionHidden("a hidden question cannot be pinned")
        if not question.answer:
            raise NotAnswered("answer the question before pinning it")
        assert question.id is not None
        await self.questions.pin(Pin(question.room_id, question.id, self.clock(), actor.user_id))
        return question

    async def unpin(self, room_id: str, actor: Actor) -> int | None:
        """Take the room's card off the stream; the id of the question that was pinned, if any."""
        require_moderator(actor)
        return await self.questions.unpin(room_id)

    async def pinned(self, room_id: str) -> Question | None:
        pin = await self.questions.pinned(room_id)
        if pin is None:
            return None
        question = await self.questions.get(pin.question_id)
        if question is None or question.hidden or not question.answer:
            return None
        return question

    # -- suggested answers ----------------------------------------------------------------------

    async def suggestions(self, question: Question, *, limit: int = SUGGESTIONS) -> list[Suggestion]:
        """Earlier answers (same brand, any room or session) to questions like this one."""
        scoped = self._indexes.setdefault(question.scope, _ScopeIndex())
        async with scoped.lock:
            await self._sync(question.scope, scoped)
            exclude = [question.id] if question.id is not None else []
            # Scoring is pure Python over the whole scope: off the event loop.
            matches = await self.run_blocking(
                scoped.index.query, question.text, limit=limit * 3, threshold=self.threshold,
                exclude=exclude,
            )
        out: list[Suggestion] = []
        seen_answers: set[str] = set()
        for match in matches:
            doc = scoped.docs[match.doc_id]
            assert doc.answer is not None
            key = doc.answer.casefold()
            if key in seen_answers:
                continue  # the same answer given twice is one suggestion
            seen_answers.add(key)
            out.append(Suggestion(match.doc_id, doc.room_id, doc.text, doc.answer, match.score))
            if len(out) == limit:
                break
        return out

    async def _sync(self, scope: str, scoped: _ScopeIndex) -> None:
        since = scoped.synced_to - SYNC_OVERLAP if scoped.synced_to is not None else None
        changed = await self.questions.answered_since(scope, since)
        if not changed:
            return
        await self.run_blocking(self._apply, scoped, changed)

    @staticmethod
    def _apply(scoped: _ScopeIndex, changed: list[Question]) -> None:
        for q in changed:
            assert q.id is not None
            if q.hidden or not q.answer:
                scoped.index.remove(q.id)
                scoped.docs.pop(q.id, None)
            else:
                scoped.index.add(q.id, q.text)
                scoped.docs[q.id] = q
            if q.updated_at is not None and (scoped.synced_to is None or q.updated_at > scoped.synced_to):
                scoped.synced_to = q.updated_at
