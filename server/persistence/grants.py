"""Room grants in SQL: who hosts or moderates which room."""

from __future__ import annotations

from datetime import UTC

from sqlalchemy import ColumnElement, and_, delete
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select

from ..domain.accounts.grants import RoomGrant, Subject, SubjectKind
from ..domain.accounts.roles import Role
from .db import Database
from .rooms import _aware
from .tables import RoomGrantRow


def _grant(row: RoomGrantRow) -> RoomGrant:
    return RoomGrant(
        row.room_id, Subject(SubjectKind(row.subject_kind), row.subject_id), Role(row.role),
        row.granted_by, _aware(row.created_at),
    )


def _of(subject: Subject) -> ColumnElement[bool]:
    return and_(col(RoomGrantRow.subject_kind) == subject.kind.value, col(RoomGrantRow.subject_id) == subject.id)


class SqlGrantRepository:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def for_subject(self, subject: Subject) -> list[RoomGrant]:
        async with self.db.session() as s:
            rows = (await s.execute(select(RoomGrantRow).where(_of(subject)))).scalars()
            return [_grant(r) for r in rows]

    async def for_room(self, room_id: str) -> list[RoomGrant]:
        stmt = select(RoomGrantRow).where(col(RoomGrantRow.room_id) == room_id).order_by(col(RoomGrantRow.id))
        async with self.db.session() as s:
            return [_grant(r) for r in (await s.execute(stmt)).scalars()]

    async def put(self, grant: RoomGrant) -> RoomGrant:
        for _attempt in range(2):
            async with self.db.session() as s:
                stmt = select(RoomGrantRow).where(col(RoomGrantRow.room_id) == grant.room_id, _of(grant.subject))
                row = (await s.execute(stmt)).scalars().first()
                if row is None:
                    row = RoomGrantRow(
                        room_id=grant.room_id, subject_kind=grant.subject.kind.value, subject_id=grant.subject.id,
                        role=grant.role.value, granted_by=grant.granted_by, created_at=grant.created_at.astimezone(UTC),
                    )
                else:
                    row.role, row.granted_by = grant.role.value, grant.granted_by
                s.add(row)
                try:
                    await s.commit()
                except IntegrityError:
                    # The same grant made at the same moment elsewhere: update theirs instead.
                    await s.rollback()
                    continue
                await s.refresh(row)
                return _grant(row)
        raise RuntimeError("room grant kept conflicting")

    async def remove(self, room_id: str, subject: Subject) -> RoomGrant | None:
        async with self.db.session() as s:
            stmt = select(RoomGrantRow).where(col(RoomGrantRow.room_id) == room_id, _of(subject))
            row = (await s.execute(stmt)).scalars().first()
            if row is None:
                return None
            found = _grant(row)
            await s.execute(delete(RoomGrantRow).where(col(RoomGrantRow.id) == row.id))
            await s.commit()
            return found
