"""Verified-buyer reviews (真实好评 + 晒单) and their moderation.

Only the buyer of a collected or delivered order reviews it, once, with a 1-5 rating, up to 500
characters and up to four photos; the review is marked "verified buyer" and belongs to the room
the order was bought in. Moderators, hosts and operators approve or reject it (a rejection says
why) and may change their minds; approved reviews are the room's testimonial wall and ticker.
"""

from __future__ import annotations

import asyncio
import logging
import sys
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from ..accounts.grants import room_role
from ..accounts.roles import Role
from ..commerce.ports import OrderLookup
from ..errors import Conflict, Forbidden, InvalidInput, NotFound, Unauthorized
from .chat import clean_text as clean_chat_text
from .errors import EmptyMessage
from .moderation import can_moderate
from .review_photos import SIZES, ProcessedPhoto, process_photo
from .review_ports import PhotoFiles, ReviewEvents, ReviewRepository

logger = logging.getLogger(__name__)

RATING_MIN, RATING_MAX = 1, 5
TEXT_MAX = 500
REASON_MAX = 200
MAX_PHOTOS = 4
WALL_MAX = 50
QUEUE_MAX = 200
# Decoding a 40 MP photo takes a few hundred MB for a moment: a bounded number at a time per
# node, whatever the number of uploads, keeps a small server's memory and cores for video.
IMAGE_JOBS = 2

Blocking = Callable[..., Awaitable[Any]]


def _utcnow() -> datetime:
    return datetime.now(UTC)


# -- errors -----------------------------------------------------------------------------------


class ReviewNotFound(NotFound):
    code = "review_not_found"


class SignInRequired(Unauthorized):
    code = "sign_in_required"


class OrderNotReviewable(Forbidden):
    """Not the caller's order, or not received yet: the same answer, so order ids leak nothing."""

    code = "order_not_received"


class NotAModerator(Forbidden):
    code = "forbidden"


class AlreadyReviewed(Conflict):
    code = "already_reviewed"


class BadRating(InvalidInput):
    code = "bad_rating"


class TooManyPhotos(InvalidInput):
    code = "too_many_photos"


class TextTooLong(InvalidInput):
    code = "text_too_long"


class ReasonRequired(InvalidInput):
    code = "reason_required"


# -- values -----------------------------------------------------------------------------------


class ReviewStatus(StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"


@dataclass(frozen=True)
class ReviewPhoto:
    """A stored photo: its renditions are files named by `sha256` and the rendition size."""

    sha256: str
    width: int  # of the large rendition
    height: int
    source_format: str = "jpeg"


@dataclass(frozen=True)
class Review:
    id: int | None
    room_id: str
    order_id: int
    user_id: int
    nickname: str
    rating: int
    text: str
    products: tuple[str, ...]
    received_at: datetime
    created_at: datetime
    photos: tuple[ReviewPhoto, ...] = ()
    status: ReviewStatus = ReviewStatus.PENDING
    moderated_by: int | None = None
    moderated_at: datetime | None = None
    reason: str = ""  # why it was rejected

    @property
    def verified(self) -> bool:
        """Every review here is of a received order of its author: "verified buyer" (已购)."""
        return True


@dataclass(frozen=True)
class Author:
    user_id: int
    nickname: str


@dataclass(frozen=True)
class Moderator:
    """Who moderates: an account, or an API token (user_id None). `role` is the account's own:
    operators moderate every room; hosts and moderators the rooms their `grants` name."""

    user_id: int | None
    role: Role
    grants: Mapping[str, Role] = field(default_factory=dict)

    def moderates(self, room_id: str) -> bool:
        return can_moderate(room_role(self.role, self.grants.get(room_id)))

    def rooms(self) -> list[str] | None:
        """The rooms this caller moderates; None: every room (an operator)."""
        if self.role is Role.OPERATOR:
            return None
        return sorted(room for room, role in self.grants.items() if can_moderate(role))


@dataclass(frozen=True)
class Submission:
    order_id: int
    rating: int
    text: str = ""
    photos: Sequence[bytes] = field(default_factory=tuple)


# -- rules ------------------------------------------------------------------------------------


def check_rating(rating: int) -> int:
    if isinstance(rating, bool) or not isinstance(rating, int) or not RATING_MIN <= rating <= RATING_MAX:
        raise BadRating(f"rating must be a whole number from {RATING_MIN} to {RATING_MAX}")
    return rating


def clean_text(raw: str, *, what: str, max_len: int) -> str:
    """User text as stored, cleaned as chat and Q&A clean theirs (one line, no controls, bidi
    overrides or zalgo); "" when nothing is left."""
    try:
        text = clean_chat_text(raw, max_chars=sys.maxsize)
    except EmptyMessage:
        return ""
    if len(text) > max_len:
        raise TextTooLong(f"{what} is at most {max_len} characters (this one has {len(text)})")
    return text


def check_photo_count(count: int) -> None:
    if count > MAX_PHOTOS:
        raise TooManyPhotos(f"at most {MAX_PHOTOS} photos per review (this one has {count})")


def require_moderator(moderator: Moderator, room_id: str | None = None) -> None:
    """Moderates this room (or, without one, some room)."""
    if room_id is not None:
        if not moderator.moderates(room_id):
            raise NotAModerator(f"only moderators, hosts and operators of room {room_id!r} may moderate its reviews")
    elif moderator.rooms() == []:
        raise NotAModerator("only moderators, hosts and operators may moderate reviews")


# -- the service ------------------------------------------------------------------------------


class ReviewService:
    def __init__(
        self,
        reviews: ReviewRepository,
        orders: OrderLookup,
        files: PhotoFiles,
        events: ReviewEvents | None = None,
        clock: Callable[[], datetime] = _utcnow,
        run_blocking: Blocking | None = None,
        image_jobs: int = IMAGE_JOBS,
    ) -> None:
        self.reviews = reviews
        self.orders = orders
        self.files = files
        self.run_blocking: Blocking = run_blocking or asyncio.to_thread
        self.events = events
        self.clock = clock
        self._image_jobs = asyncio.Semaphore(max(1, image_jobs))

    async def submit(self, author: Author, submission: Submission) -> Review:
        """Check, process the photos (off the event loop), store them, then the review."""
        rating = check_rating(submission.rating)
        text = clean_text(submission.text, what="a review", max_len=TEXT_MAX)
        check_photo_count(len(submission.photos))
        # Cheap refusals first: no photo is decoded for an order that cannot be reviewed.
        order = await self.orders.received_order(author.user_id, submission.order_id)
        if order is None:
            raise OrderNotReviewable("only the buyer of a collected or delivered order can review it")
        if await self.reviews.for_order(order.id) is not None:
            raise AlreadyReviewed("this order has been reviewed already")
        processed = [await self._process(data, i) for i, data in enumerate(submission.photos, 1)]
        for photo in processed:
            # Files before the row: a stored review never points at a missing photo (a failed
            # insert leaves unreferenced files, which nobody can see).
            await self.files.put(photo)
        review = await self.reviews.add(Review(
            id=None, room_id=order.room_id, order_id=order.id, user_id=author.user_id,
            nickname=author.nickname, rating=rating, text=text, products=order.product_names,
            received_at=order.received_at, created_at=self.clock(),
            photos=tuple(_photo(p) for p in processed),
        ))
        logger.info("review submitted", extra={"review": review.id, "order": order.id, "room": order.room_id})
        if self.events is not None:
            await self._tell(self.events.submitted(review), review)
        return review

    async def _process(self, data: bytes, number: int) -> ProcessedPhoto:
        async with self._image_jobs:
            try:
                photo: ProcessedPhoto = await self.run_blocking(process_photo, data)
                return photo
            except InvalidInput as exc:
                # Same error, saying which of the photos it was: the buyer picked several.
                raise type(exc)(f"photo {number}: {exc.message}") from exc

    async def approve(self, moderator: Moderator, review_id: int) -> Review:
        return await self._moderate(moderator, review_id, ReviewStatus.APPROVED, "")

    async def reject(self, moderator: Moderator, review_id: int, reason: str) -> Review:
        why = clean_text(reason, what="the reason", max_len=REASON_MAX)
        if not why:
            raise ReasonRequired("say why the review is rejected: its author is told")
        return await self._moderate(moderator, review_id, ReviewStatus.REJECTED, why)

    async def _moderate(self, moderator: Moderator, review_id: int, status: ReviewStatus, reason: str) -> Review:
        require_moderator(moderator)
        before = await self.require(review_id)
        require_moderator(moderator, before.room_id)  # the review belongs to the order's room
        if before.status is status and before.reason == reason:
            return before  # a repeated click changes nothing and tells nobody again
        after = await self.reviews.moderate(review_id, status, moderator.user_id, self.clock(), reason)
        if after is None:
            raise ReviewNotFound(f"no review {review_id}")
        logger.info("review %s", status.value, extra={"review": review_id, "room": after.room_id, "user": moderator.user_id})
        if self.events is not None:
            await self._tell(self.events.moderated(before, after), after)
        return after

    @staticmethod
    async def _tell(event: Awaitable[None], review: Review) -> None:
        # The review is stored: a live update that fails (Redis away) must not turn the caller's
        # success into an error they would retry. Pages catch up on their next load.
        try:
            await event
        except Exception:
            logger.exception("could not broadcast a review change", extra={"review": review.id, "room": review.room_id})

    async def require(self, review_id: int) -> Review:
        review = await self.reviews.get(review_id)
        if review is None:
            raise ReviewNotFound(f"no review {review_id}")
        return review

    async def wall(self, room_id: str, limit: int = WALL_MAX) -> list[Review]:
        """What everyone may see: the room's approved reviews, most recently approved first."""
        return await self.reviews.approved(room_id, max(1, min(limit, WALL_MAX)))

    async def queue(
        self, moderator: Moderator, status: ReviewStatus | None, room_id: str | None, limit: int = QUEUE_MAX
    ) -> list[Review]:
        """For moderators: reviews in one state (None: all), oldest first, of one room or of
        every room they moderate."""
        require_moderator(moderator, room_id)
        statuses = [status] if status is not None else list(ReviewStatus)
        rooms = [room_id] if room_id is not None else moderator.rooms()
        return await self.reviews.listing(statuses, rooms, max(1, min(limit, QUEUE_MAX)))

    async def room_of(self, review_id: int) -> str:
        return (await self.require(review_id)).room_id

    async def photo_visible(self, sha256: str, viewer: Moderator) -> bool:
        """Approved reviews' photos are public; the rest only to their author and the moderators
        of the review's room."""
        rooms = viewer.rooms()
        if rooms is None:
            return True
        return await self.reviews.visible_photo(sha256, viewer.user_id, rooms)

    async def thumbnail(self, review: Review) -> bytes | None:
        """The first photo's small rendition, for the stream's ticker."""
        if not review.photos:
            return None
        return await self.files.read(review.photos[0].sha256, SIZES[0])


def _photo(processed: ProcessedPhoto) -> ReviewPhoto:
    large = processed.renditions[-1]
    return ReviewPhoto(processed.sha256, large.width, large.height, processed.source_format)
