"""Verified-buyer reviews in SQL: one row per review, its photos in order, one review per order.

"One review per order" is a unique index, so it holds across nodes and double submits. Reviews
keep the order and room ids without foreign keys: orders and rooms belong to other features, and a
review stays readable (for moderators and its author) whatever happens to them.
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Sequence
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import JSON, DateTime, Index, Text, or_, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import Field, SQLModel, col, select

from ..domain.voice.reviews import AlreadyReviewed, Review, ReviewPhoto, ReviewStatus
from .utc import aware as _aware
from .utc import utc as _utc

if TYPE_CHECKING:  # db.py imports this module to register the tables
    from .db import Database

logger = logging.getLogger(__name__)


class ReviewRow(SQLModel, table=True):
    __tablename__ = "reviews"
    __table_args__ = (
        Index("ix_reviews_room_status_moderated", "room_id", "status", "moderated_at"),
        Index("ix_reviews_status_created", "status", "created_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    room_id: str = Field(max_length=63)
    order_id: int = Field(unique=True)
    user_id: int = Field(foreign_key="users.id", index=True)
    nickname: str = Field(max_length=64)
    rating: int
    text: str = Field(default="", sa_type=Text)
    products: list[str] = Field(default_factory=list, sa_type=JSON)
    received_at: datetime = Field(sa_type=DateTime(timezone=True))
    created_at: datetime = Field(sa_type=DateTime(timezone=True))
    status: str = Field(default=ReviewStatus.PENDING.value, max_length=16)
    moderated_by: int | None = Field(default=None, foreign_key="users.id")
    moderated_at: datetime | None = Field(default=None, sa_type=DateTime(timezone=True))
    reason: str = Field(default="", sa_type=Text)


class ReviewPhotoRow(SQLModel, table=True):
    __tablename__ = "review_photos"

    review_id: int = Field(foreign_key="reviews.id", primary_key=True)
    position: int = Field(primary_key=True)
    sha256: str = Field(max_length=64, index=True)
    width: int
    height: int
    source_format: str = Field(max_length=8)


def _review(row: ReviewRow, photos: Sequence[ReviewPhotoRow]) -> Review:
    assert row.id is not None
    return Review(
        id=row.id, room_id=row.room_id, order_id=row.order_id, user_id=row.user_id,
        nickname=row.nickname, rating=row.rating, text=row.text, products=tuple(row.products),
        received_at=_aware(row.received_at), created_at=_aware(row.created_at),
        photos=tuple(
            ReviewPhoto(p.sha256, p.width, p.height, p.source_format)
            for p in sorted(photos, key=lambda p: p.position)
        ),
        status=ReviewStatus(row.status), moderated_by=row.moderated_by,
        moderated_at=_aware(row.moderated_at) if row.moderated_at else None, reason=row.reason,
    )


async def _with_photos(s: AsyncSession, rows: Sequence[ReviewRow]) -> list[Review]:
    ids = [row.id for row in rows]
    photos: dict[int, list[ReviewPhotoRow]] = {}
    if ids:
        found = await s.execute(select(ReviewPhotoRow).where(col(ReviewPhotoRow.review_id).in_(ids)))
        for photo in found.scalars():
            photos.setdefault(photo.review_id, []).append(photo)
    return [_review(row, photos.get(row.id or 0, [])) for row in rows]


class SqlReviewRepository:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def add(self, review: Review) -> Review:
        row = ReviewRow(
            room_id=review.room_id, order_id=review.order_id, user_id=review.user_id,
            nickname=review.nickname, rating=review.rating, text=review.text,
            products=list(review.products), received_at=_utc(review.received_at),
            created_at=_utc(review.created_at), status=review.status.value,
        )
        async with self.db.session() as s:
            try:
                s.add(row)
                await s.flush()
                assert row.id is not None
                photos = [
                    ReviewPhotoRow(review_id=row.id, position=i, sha256=p.sha256, width=p.width,
                                   height=p.height, source_format=p.source_format)
                    for i, p in enumerate(review.photos)
                ]
                s.add_all(photos)
                await s.commit()
            except IntegrityError as exc:
                await s.rollback()
                if await self.for_order(review.order_id) is not None:
                    raise AlreadyReviewed("this order has been reviewed already") from exc
                raise
            return _review(row, photos)

    async def get(self, review_id: int) -> Review | None:
        async with self.db.session() as s:
            row = await s.get(ReviewRow, review_id)
            return (await _with_photos(s, [row]))[0] if row else None

    async def for_order(self, order_id: int) -> Review | None:
        async with self.db.session() as s:
            row = (await s.execute(select(ReviewRow).where(col(ReviewRow.order_id) == order_id))).scalars().first()
            return (await _with_photos(s, [row]))[0] if row else None

    async def approved(self, room_id: str, limit: int) -> list[Review]:
        stmt = (
            select(ReviewRow)
            .where(col(ReviewRow.room_id) == room_id, col(ReviewRow.status) == ReviewStatus.APPROVED.value)
            .order_by(col(ReviewRow.moderated_at).desc(), col(ReviewRow.id).desc())
            .limit(limit)
        )
        async with self.db.session() as s:
            return await _with_photos(s, list((await s.execute(stmt)).scalars()))

    async def listing(
        self, statuses: Collection[ReviewStatus], rooms: Collection[str] | None, limit: int
    ) -> list[Review]:
        if not statuses or (rooms is not None and not rooms):
            return []
        stmt = select(ReviewRow).where(col(ReviewRow.status).in_([st.value for st in statuses]))
        if rooms is not None:
            stmt = stmt.where(col(ReviewRow.room_id).in_(list(rooms)))
        stmt = stmt.order_by(col(ReviewRow.created_at), col(ReviewRow.id)).limit(limit)
        async with self.db.session() as s:
            return await _with_photos(s, list((await s.execute(stmt)).scalars()))

    async def moderate(
        self, review_id: int, status: ReviewStatus, by: int | None, at: datetime, reason: str
    ) -> Review | None:
        async with self.db.session() as s:
            await s.execute(
                update(ReviewRow).where(col(ReviewRow.id) == review_id)
                .values(status=status.value, moderated_by=by, moderated_at=_utc(at), reason=reason)
            )
            await s.commit()
        return await self.get(review_id)

    async def visible_photo(self, sha256: str, user_id: int | None, rooms: Collection[str] = ()) -> bool:
        shown = col(ReviewRow.status) == ReviewStatus.APPROVED.value
        if rooms:
            shown = or_(shown, col(ReviewRow.room_id).in_(list(rooms)))
        stmt = (
            select(ReviewRow.id)
            .join(ReviewPhotoRow, col(ReviewPhotoRow.review_id) == col(ReviewRow.id))
            .where(
                col(ReviewPhotoRow.sha256) == sha256,
                or_(shown, col(ReviewRow.user_id) == user_id) if user_id is not None else shown,
            )
            .limit(1)
        )
        async with self.db.session() as s:
            return (await s.execute(stmt)).first() is not None
