"""Rooms in SQL."""

from __future__ import annotations

from datetime import UTC

from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select

from ..domain.errors import Conflict
from ..domain.rooms import Orientation, Room
from .db import Database
from .tables import RoomRow
from .utc import aware as _aware


def _to_domain(row: RoomRow) -> Room:
    return Room(
        id=row.id,
        title=row.title,
        brand=row.brand,
        orientation=Orientation(row.orientation),
        stream_key_hash=row.stream_key_hash,
        created_at=_aware(row.created_at),
        demo_source=row.demo_source,
    )


def _to_row(room: Room) -> RoomRow:
    return RoomRow(
        id=room.id,
        title=room.title,
        brand=room.brand,
        orientation=room.orientation.value,
        stream_key_hash=room.stream_key_hash,
        demo_source=room.demo_source,
        created_at=room.created_at.astimezone(UTC),
    )


class SqlRoomRepository:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def get(self, room_id: str) -> Room | None:
        async with self.db.session() as session:
            row = await session.get(RoomRow, room_id)
            return _to_domain(row) if row else None

    async def list(self) -> list[Room]:
        async with self.db.session() as session:
            rows = (await session.execute(select(RoomRow).order_by(col(RoomRow.created_at)))).scalars()
            return [_to_domain(r) for r in rows]

    async def add(self, room: Room) -> None:
        async with self.db.session() as session:
            session.add(_to_row(room))
            try:
                await session.commit()
            except IntegrityError as exc:
                raise Conflict(f"room {room.id!r} already exists") from exc

    async def save(self, room: Room) -> None:
        async with self.db.session() as session:
            await session.merge(_to_row(room))
            await session.commit()

    async def delete(self, room_id: str) -> bool:
        async with self.db.session() as session:
            row = await session.get(RoomRow, room_id)
            if row is None:
                return False
            await session.delete(row)
            await session.commit()
            return True
