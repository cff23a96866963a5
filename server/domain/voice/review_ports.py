"""What verified-buyer reviews need from outside: their storage, the photo files, the live side."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from .review_photos import ProcessedPhoto
    from .reviews import Review, ReviewStatus


class ReviewRepository(Protocol):
    async def add(self, review: Review) -> Review:
        """Stores the review with its photos (committed when this returns) and gives it its id.
        Raises AlreadyReviewed when the order has a review (one per order, across nodes and races)."""
    async def get(self, review_id: int) -> Review | None: ...
    async def for_order(self, order_id: int) -> Review | None: ...
    async def approved(self, room_id: str, limit: int) -> list[Review]:
        """The room's approved reviews, most recently approved first."""
    async def listing(
        self, statuses: Collection[ReviewStatus], rooms: Collection[str] | None, limit: int
    ) -> list[Review]:
        """Reviews in these states (of these rooms; None: all), oldest first: a queue to work through."""
    async def moderate(
        self, review_id: int, status: ReviewStatus, by: int | None, at: datetime, reason: str
    ) -> Review | None: ...
    async def visible_photo(self, sha256: str, user_id: int | None, rooms: Collection[str] = ()) -> bool:
        """Whether the photo belongs to an approved review, a review by `user_id`, or a review in
        one of `rooms`."""


class PhotoFiles(Protocol):
    async def put(self, photo: ProcessedPhoto) -> None:
        """Writes every rendition (atomically: a reader never sees half a file)."""
    async def read(self, sha256: str, size: int) -> bytes | None: ...


class ReviewEvents(Protocol):
    """Where the domain tells the live side (Socket.IO, the ticker) that a review changed."""

    async def submitted(self, review: Review) -> None: ...
    async def moderated(self, before: Review, after: Review) -> None: ...
