"""Q&A in SQL: questions, one vote per account per question, one pinned question per room.

The one-vote rule and the one-pin rule are primary keys, so they hold across nodes and races; the
vote count is kept on the question (incremented in the vote's transaction) so the queue sorts in SQL.
Questions keep their room id without a foreign key: a deleted room's answers still feed the
brand's suggested answers.
"""

from __future__ import annotations

import logging
from collections.abc import Collection
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import DateTime, Index, and_, delete, false, or_, true, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import Field, SQLModel, col, select

from ..domain.voice.qa import Pin, Question, QuestionStatus
from .utc import aware as _aware
from .utc import utc as _utc

if TYPE_CHECKING:  # db.py imports this module to register the tables
    from .db import Database

logger = logging.getLogger(__name__)


class QaQuestionRow(SQLModel, table=True):
    __tablename__ = "qa_questions"
    __table_args__ = (
        Index("ix_qa_questions_room_queue", "room_id", "hidden", "votes"),
        Index("ix_qa_questions_scope_updated", "scope", "updated_at"),
        Index("ix_qa_questions_room_asker", "room_id", "asker_id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    room_id: str = Field(max_length=63)
    scope: str = Field(max_length=80)
    asker_id: int = Field(foreign_key="users.id")
    asker_nickname: str = Field(max_length=24)
    text: str = Field(max_length=300)
    votes: int = 0
    answer: str | None = Field(default=None, max_length=1000)
    answered_by: int | None = Field(default=None, foreign_key="users.id")
    answered_at: datetime | None = Field(default=None, sa_type=DateTime(timezone=True))
    hidden: bool = False
    created_at: datetime = Field(sa_type=DateTime(timezone=True))
    # Bumped when the answer or the hidden flag changes: what the suggestion indexes sync on.
    updated_at: datetime = Field(sa_type=DateTime(timezone=True))


class QaVoteRow(SQLModel, table=True):
    __tablename__ = "qa_votes"

    question_id: int = Field(foreign_key="qa_questions.id", primary_key=True)
    user_id: int = Field(foreign_key="users.id", primary_key=True, index=True)
    created_at: datetime = Field(sa_type=DateTime(timezone=True))


class QaPinRow(SQLModel, table=True):
    __tablename__ = "qa_pins"

    room_id: str = Field(primary_key=True, max_length=63)
    question_id: int = Field(foreign_key="qa_questions.id")
    pinned_at: datetime = Field(sa_type=DateTime(timezone=True))
    pinned_by: int | None = Field(default=None, foreign_key="users.id")


def _question(row: QaQuestionRow) -> Question:
    assert row.id is not None
    return Question(
        id=row.id,
        room_id=row.room_id,
        scope=row.scope,
        asker_id=row.asker_id,
        asker_nickname=row.asker_nickname,
        text=row.text,
        created_at=_aware(row.created_at),
        votes=row.votes,
        answer=row.answer,
        answered_by=row.answered_by,
        answered_at=_aware(row.answered_at) if row.answered_at else None,
        hidden=row.hidden,
        updated_at=_aware(row.updated_at),
    )


def _status_clause(status: QuestionStatus) -> ColumnElement[bool]:
    if status is QuestionStatus.HIDDEN:
        return col(QaQuestionRow.hidden) == true()
    answered = col(QaQuestionRow.answer).is_not(None)
    open_ = col(QaQuestionRow.answer).is_(None)
    return and_(col(QaQuestionRow.hidden) == false(), answered if status is QuestionStatus.ANSWERED else open_)


class SqlQuestionRepository:
    def __init__(self, db: Database) -> None:
        self.db = db

    def _insert(self, table: Any) -> Any:
        # INSERT ... ON CONFLICT is how a primary key arbitrates races; each dialect spells it.
        return sqlite.insert(table) if self.db.is_sqlite else postgresql.insert(table)

    async def add(self, question: Question) -> Question:
        row = QaQuestionRow(
            room_id=question.room_id,
            scope=question.scope,
            asker_id=question.asker_id,
            asker_nickname=question.asker_nickname,
            text=question.text,
            votes=question.votes,
            answer=question.answer,
            answered_by=question.answered_by,
            answered_at=_utc(question.answered_at) if question.answered_at else None,
            hidden=question.hidden,
            created_at=_utc(question.created_at),
            updated_at=_utc(question.updated_at or question.created_at),
        )
        async with self.db.session() as s:
            s.add(row)
            await s.commit()
            await s.refresh(row)
            return _question(row)

    async def get(self, question_id: int) -> Question | None:
        async with self.db.session() as s:
            row = await s.get(QaQuestionRow, question_id)
            return _question(row) if row else None

    async def queue(self, room_id: str, statuses: Collection[QuestionStatus], limit: int) -> list[Question]:
        if not statuses:
            return []
        stmt = (
            select(QaQuestionRow)
            .where(col(QaQuestionRow.room_id) == room_id, or_(*(_status_clause(s) for s in statuses)))
            .order_by(col(QaQuestionRow.votes).desc(), col(QaQuestionRow.created_at), col(QaQuestionRow.id))
            .limit(limit)
        )
        async with self.db.session() as s:
            return [_question(r) for r in (await s.execute(stmt)).scalars()]

    async def open_by(self, room_id: str, asker_id: int) -> list[Question]:
        stmt = select(QaQuestionRow).where(
            col(QaQuestionRow.room_id) == room_id,
            col(QaQuestionRow.asker_id) == asker_id,
            _status_clause(QuestionStatus.OPEN),
        )
        async with self.db.session() as s:
            return [_question(r) for r in (await s.execute(stmt)).scalars()]

    async def voted_in_room(self, room_id: str, user_id: int) -> set[int]:
        stmt = (
            select(QaVoteRow.question_id)
            .join(QaQuestionRow, col(QaQuestionRow.id) == col(QaVoteRow.question_id))
            .where(col(QaVoteRow.user_id) == user_id, col(QaQuestionRow.room_id) == room_id)
        )
        async with self.db.session() as s:
            return set((await s.execute(stmt)).scalars())

    async def asked_in_room(self, room_id: str, user_id: int) -> set[int]:
        stmt = select(QaQuestionRow.id).where(
            col(QaQuestionRow.room_id) == room_id, col(QaQuestionRow.asker_id) == user_id
        )
        async with self.db.session() as s:
            return {i for i in (await s.execute(stmt)).scalars() if i is not None}

    async def vote(self, question_id: int, user_id: int, up: bool, at: datetime) -> int:
        async with self.db.session() as s, s.begin():
            if up:
                insert = self._insert(QaVoteRow).values(
                    question_id=question_id, user_id=user_id, created_at=_utc(at)
                ).on_conflict_do_nothing()
                changed = (await s.execute(insert)).rowcount == 1  # type: ignore[attr-defined]
                delta = 1
            else:
                removed = await s.execute(
                    delete(QaVoteRow).where(
                        col(QaVoteRow.question_id) == question_id, col(QaVoteRow.user_id) == user_id
                    )
                )
                changed = removed.rowcount == 1  # type: ignore[attr-defined]
                delta = -1
            if changed:
                await s.execute(
                    update(QaQuestionRow)
                    .where(col(QaQuestionRow.id) == question_id)
                    .values(votes=col(QaQuestionRow.votes) + delta)
                )
            votes = (
                await s.execute(select(QaQuestionRow.votes).where(col(QaQuestionRow.id) == question_id))
            ).scalar_one()
            return int(votes)

    async def save_answer(self, question_id: int, answer: str, by: int | None, at: datetime) -> Question | None:
        async with self.db.session() as s:
            row = await s.get(QaQuestionRow, question_id)
            if row is None:
                return None
            row.answer = answer
            row.answered_by = by
            row.answered_at = _utc(at)
            row.updated_at = _utc(at)
            s.add(row)
            await s.commit()
            await s.refresh(row)
            return _question(row)

    async def set_hidden(self, question_id: int, hidden: bool, at: datetime) -> Question | None:
        async with self.db.session() as s:
            row = await s.get(QaQuestionRow, question_id)
            if row is None:
                return None
            if row.hidden != hidden:
                row.hidden = hidden
                row.updated_at = _utc(at)
                s.add(row)
                await s.commit()
                await s.refresh(row)
            return _question(row)

    async def answered_since(self, scope: str, since: datetime | None) -> list[Question]:
        stmt = select(QaQuestionRow).where(
            col(QaQuestionRow.scope) == scope, col(QaQuestionRow.answer).is_not(None)
        )
        if since is not None:
            stmt = stmt.where(col(QaQuestionRow.updated_at) >= _utc(since))
        stmt = stmt.order_by(col(QaQuestionRow.updated_at), col(QaQuestionRow.id))
        async with self.db.session() as s:
            return [_question(r) for r in (await s.execute(stmt)).scalars()]

    async def pin(self, pin: Pin) -> None:
        values = {
            "room_id": pin.room_id, "question_id": pin.question_id,
            "pinned_at": _utc(pin.pinned_at), "pinned_by": pin.pinned_by,
        }
        stmt = self._insert(QaPinRow).values(**values)
        stmt = stmt.on_conflict_do_update(
            index_elements=["room_id"],
            set_={k: v for k, v in values.items() if k != "room_id"},
        )
        async with self.db.session() as s, s.begin():
            await s.execute(stmt)

    async def unpin(self, room_id: str, only: int | None = None) -> int | None:
        async with self.db.session() as s, s.begin():
            row = await s.get(QaPinRow, room_id)
            if row is None or (only is not None and row.question_id != only):
                return None
            removed = await s.execute(
                delete(QaPinRow).where(
                    col(QaPinRow.room_id) == room_id, col(QaPinRow.question_id) == row.question_id
                )
            )
            return row.question_id if removed.rowcount == 1 else None  # type: ignore[attr-defined]

    async def pinned(self, room_id: str) -> Pin | None:
        async with self.db.session() as s:
            row = await s.get(QaPinRow, room_id)
            if row is None:
                return None
            return Pin(row.room_id, row.question_id, _aware(row.pinned_at), row.pinned_by)
