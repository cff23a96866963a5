"""Q&A handlers: validated, authorised Socket.IO events in, domain calls, broadcasts out.

Nothing is kept here between events: the queue, votes and pins are in the database, so any node
can answer any client (broadcasts cross nodes through the Socket.IO client manager).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from ..domain.accounts.roles import Role
from ..domain.errors import NotFound
from ..domain.ports import RoomRepository
from ..domain.rooms import Room
from ..domain.voice.qa import Actor, QaService, Question, QueueFilter, Suggestion, require_moderator
from . import qa_events as ev
from .server import Client, Realtime, payload_room, sio_room

logger = logging.getLogger(__name__)

# Suggestions attached to a moderator's list: the open questions at the top of the queue.
LIST_SUGGESTIONS = 50
ANONYMOUS_NICKNAME = "观众"

ShowCard = Callable[[str, Question | None], Awaitable[None]]


def mod_room(room_id: str) -> str:
    return f"qa-mod:{room_id}"


def user_room(user_id: int) -> str:
    return f"qa-user:{user_id}"


def actor(client: Client) -> Actor:
    return Actor(client.user_id, client.nickname or ANONYMOUS_NICKNAME, client.role)


def public_view(q: Question) -> dict[str, Any]:
    assert q.id is not None
    return ev.QuestionOut(
        id=q.id, room=q.room_id, text=q.text, asker=q.asker_nickname, votes=q.votes,
        status=q.status.value, answer=q.answer, created_at=q.created_at.isoformat(),
        answered_at=q.answered_at.isoformat() if q.answered_at else None,
    ).model_dump()


def suggestion_view(s: Suggestion) -> dict[str, Any]:
    return ev.SuggestionOut(
        question_id=s.question_id, room=s.room_id, question=s.question, answer=s.answer, score=s.score
    ).model_dump()


def mod_view(q: Question, suggestions: list[Suggestion] | None = None) -> dict[str, Any]:
    assert q.id is not None
    out = ev.ModQuestionOut(
        **{k: v for k, v in public_view(q).items()},
        hidden=q.hidden, asker_id=q.asker_id, answered_by=q.answered_by,
        suggestions=[ev.SuggestionOut(**suggestion_view(s)) for s in suggestions] if suggestions is not None else None,
    ).model_dump()
    if suggestions is None:
        del out["suggestions"]
    return out


class QaRealtime:
    """Registers the Q&A events on the Socket.IO server and runs them against the QaService."""

    def __init__(
        self,
        realtime: Realtime,
        service: Callable[[], QaService],
        rooms: Callable[[], RoomRepository],
        show_card: ShowCard,
    ) -> None:
        self.realtime = realtime
        self.sio = realtime.sio
        self._service = service
        self._rooms = rooms
        self._show_card = show_card
        # Suggestion look-ups run after the asker has their ack; kept so they are not collected.
        self._background: set[asyncio.Task[None]] = set()
        on = realtime.on
        # Room-scoped, so `client.role` is the caller's role in the question's room: a moderator
        # of another room is a viewer here (no hidden questions, rate limits apply).
        question_room = self._question_room
        on(ev.SUBSCRIBE, ev.RoomPayload, room=payload_room)(self.subscribe)
        on(ev.LIST, ev.ListPayload, room=payload_room)(self.list_questions)
        on(ev.ASK, ev.AskPayload, room=payload_room)(self.ask)
        on(ev.VOTE, ev.VotePayload, room=question_room)(self.vote)
        on(ev.ANSWER, ev.AnswerPayload, Role.MODERATOR, room=question_room)(self.answer)
        on(ev.HIDE, ev.HidePayload, Role.MODERATOR, room=question_room)(self.hide)
        on(ev.PIN, ev.QuestionRef, Role.MODERATOR, room=question_room)(self.pin)
        on(ev.UNPIN, ev.RoomPayload, Role.MODERATOR, room=payload_room)(self.unpin)
        on(ev.SUGGEST, ev.QuestionRef, Role.MODERATOR, room=question_room)(self.suggest)

    @property
    def service(self) -> QaService:
        return self._service()

    async def _question_room(self, payload: ev.QuestionRef) -> str:
        return await self.service.room_of(payload.question_id)

    async def _room(self, room_id: str) -> Room:
        room = await self._rooms().get(room_id)
        if room is None:
            raise NotFound(f"no room {room_id!r}")
        return room

    # -- anyone ---------------------------------------------------------------------------------

    async def subscribe(self, client: Client, p: ev.RoomPayload) -> dict[str, Any]:
        room = await self._room(p.room)
        who = actor(client)
        await self.sio.enter_room(client.sid, sio_room(room.id))
        if who.user_id is not None:
            await self.sio.enter_room(client.sid, user_room(who.user_id))
        if who.moderates:
            await self.sio.enter_room(client.sid, mod_room(room.id))
        questions = await self.service.queue(room.id, who, QueueFilter.PUBLIC)
        voted, mine = await self.service.personal(room.id, who)
        pinned = await self.service.pinned(room.id)
        return {
            "ok": True, "room": room.id,
            "questions": [public_view(q) for q in questions],
            "pinned": public_view(pinned) if pinned else None,
            "voted": sorted(voted), "mine": sorted(mine),
            "signed_in": who.user_id is not None, "moderator": who.moderates,
        }

    async def list_questions(self, client: Client, p: ev.ListPayload) -> dict[str, Any]:
        room = await self._room(p.room)
        who = actor(client)
        questions = await self.service.queue(room.id, who, QueueFilter(p.status))
        if not who.moderates:
            return {"ok": True, "room": room.id, "status": p.status, "questions": [public_view(q) for q in questions]}
        views = []
        budget = LIST_SUGGESTIONS
        for q in questions:
            suggestions = None
            if q.answer is None and not q.hidden and budget > 0:
                budget -= 1
                suggestions = await self.service.suggestions(q)
            views.append(mod_view(q, suggestions))
        return {"ok": True, "room": room.id, "status": p.status, "questions": views}

    # -- signed-in viewers ----------------------------------------------------------------------

    async def ask(self, client: Client, p: ev.AskPayload) -> dict[str, Any]:
        room = await self._room(p.room)
        question = await self.service.ask(room, actor(client), p.text)
        logger.info("question asked", extra={"room": room.id, "sid": client.sid, "user": client.label, "question": question.id})
        await self._broadcast(question)
        task = asyncio.ensure_future(self._offer_suggestions(question))
        self._background.add(task)
        task.add_done_callback(self._background.discard)
        return {"ok": True, "question": public_view(question)}

    async def vote(self, client: Client, p: ev.VotePayload) -> dict[str, Any]:
        question, voted = await self.service.vote(p.question_id, actor(client), p.up)
        await self.sio.emit(ev.VOTES, {"room": question.room_id, "id": question.id, "votes": question.votes},
                            room=sio_room(question.room_id))
        await self.sio.emit(ev.MOD_QUESTION, mod_view(question), room=mod_room(question.room_id))
        return {"ok": True, "question_id": question.id, "votes": question.votes, "voted": voted}

    # -- moderators -----------------------------------------------------------------------------

    async def answer(self, client: Client, p: ev.AnswerPayload) -> dict[str, Any]:
        who = actor(client)
        question = await self.service.answer(p.question_id, who, p.text)
        logger.info("question answered", extra={"room": question.room_id, "user": client.label, "question": question.id})
        await self._broadcast(question)
        await self.sio.emit(ev.ANSWERED, {"room": question.room_id, "question": public_view(question)},
                            room=user_room(question.asker_id))
        if p.pin:
            await self.service.pin(p.question_id, who)
            await self._pinned(question.room_id, question)
        else:
            pinned = await self.service.pinned(question.room_id)
            if pinned is not None and pinned.id == question.id:
                await self._pinned(question.room_id, question)  # the card shows the new answer
        return {"ok": True, "question": mod_view(question)}

    async def hide(self, client: Client, p: ev.HidePayload) -> dict[str, Any]:
        result = await self.service.hide(p.question_id, actor(client), p.hidden)
        question = result.question
        logger.info("question %s", "hidden" if p.hidden else "shown",
                    extra={"room": question.room_id, "user": client.label, "question": question.id})
        await self._broadcast(question)
        if result.unpinned:
            await self._pinned(question.room_id, None)
        return {"ok": True, "question": mod_view(question), "unpinned": result.unpinned}

    async def pin(self, client: Client, p: ev.QuestionRef) -> dict[str, Any]:
        question = await self.service.pin(p.question_id, actor(client))
        logger.info("question pinned", extra={"room": question.room_id, "user": client.label, "question": question.id})
        await self._pinned(question.room_id, question)
        return {"ok": True, "question": mod_view(question)}

    async def unpin(self, client: Client, p: ev.RoomPayload) -> dict[str, Any]:
        room = await self._room(p.room)
        was = await self.service.unpin(room.id, actor(client))
        if was is not None:
            logger.info("question unpinned", extra={"room": room.id, "user": client.label, "question": was})
            await self._pinned(room.id, None)
        return {"ok": True, "unpinned": was}

    async def suggest(self, client: Client, p: ev.QuestionRef) -> dict[str, Any]:
        who = actor(client)
        require_moderator(who)
        question = await self.service.visible(p.question_id, who)
        suggestions = await self.service.suggestions(question)
        return {"ok": True, "question_id": question.id, "suggestions": [suggestion_view(s) for s in suggestions]}

    # -- broadcasts -----------------------------------------------------------------------------

    async def _broadcast(self, question: Question) -> None:
        """Tell the room what it may see of this question, and the moderators everything."""
        room = question.room_id
        if question.hidden:
            await self.sio.emit(ev.REMOVED, {"room": room, "id": question.id}, room=sio_room(room))
        else:
            await self.sio.emit(ev.QUESTION, public_view(question), room=sio_room(room))
        await self.sio.emit(ev.MOD_QUESTION, mod_view(question), room=mod_room(room))

    async def _pinned(self, room_id: str, question: Question | None) -> None:
        await self._show_card(room_id, question)
        await self.sio.emit(
            ev.PINNED, {"room": room_id, "question": public_view(question) if question else None},
            room=sio_room(room_id),
        )

    async def _offer_suggestions(self, question: Question) -> None:
        try:
            suggestions = await self.service.suggestions(question)
        except Exception:
            # A failed look-up costs the moderators a hint, never the question.
            logger.exception("suggestion look-up failed", extra={"room": question.room_id, "question": question.id})
            return
        if suggestions:
            await self.sio.emit(
                ev.SUGGESTIONS,
                {"room": question.room_id, "question_id": question.id,
                 "suggestions": [suggestion_view(s) for s in suggestions]},
                room=mod_room(question.room_id),
            )

    async def close(self) -> None:
        for task in list(self._background):
            task.cancel()
        await asyncio.gather(*self._background, return_exceptions=True)
