"""Reviews on SQLite and PostgreSQL with the photos on disk: who may review, once per order, the
moderation rules and the wall. Orders come through the commerce port, here a hand-written fake of it.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from server.domain.accounts.roles import Role
from server.domain.accounts.users import User
from server.domain.commerce.ports import ReceivedOrder
from server.domain.errors import DomainError
from server.domain.voice.review_photos import LARGE, THUMB
from server.domain.voice.reviews import (
    AlreadyReviewed,
    Author,
    BadRating,
    Moderator,
    NotAModerator,
    OrderNotReviewable,
    ReasonRequired,
    Review,
    ReviewService,
    ReviewStatus,
    Submission,
    TextTooLong,
    TooManyPhotos,
)
from server.persistence.accounts import SqlUserRepository
from server.persistence.db import Database
from server.persistence.review_files import DiskPhotoFiles
from server.persistence.voice_reviews import SqlReviewRepository
from tests.reviews import jpeg

pytestmark = pytest.mark.timeout(60)

HOSTILE = ["<img src=x onerror=alert(1)>", "番茄" * 250, "🍅🥬👨‍👩‍👧 新鲜", "\u202eنموذج عربي"]


class FakeOrders:
    """The OrderLookup port: the orders each buyer has received."""

    def __init__(self) -> None:
        self.received: dict[tuple[int, int], ReceivedOrder] = {}
        self.asked = 0

    def deliver(self, user_id: int, order_id: int, room: str = "farm") -> None:
        self.received[(user_id, order_id)] = ReceivedOrder(
            order_id, ("高山有机番茄",), datetime.now(UTC) - timedelta(days=1), room
        )

    async def received_order(self, user_id: int, order_id: int) -> ReceivedOrder | None:
        self.asked += 1
        return self.received.get((user_id, order_id))


@dataclass
class RecordedEvents:
    """The ReviewEvents port, remembering what it was told."""

    new: list[Review] = field(default_factory=list)
    decisions: list[tuple[ReviewStatus, ReviewStatus]] = field(default_factory=list)

    async def submitted(self, review: Review) -> None:
        self.new.append(review)

    async def moderated(self, before: Review, after: Review) -> None:
        self.decisions.append((before.status, after.status))


@dataclass
class World:
    service: ReviewService
    orders: FakeOrders
    events: RecordedEvents
    media: Path
    users: dict[str, User]

    def author(self, name: str) -> Author:
        user = self.users[name]
        assert user.id is not None
        return Author(user.id, user.nickname)

    def mod(self, name: str, rooms: tuple[str, ...] = ("farm", "orchard")) -> Moderator:
        """The account as a moderator; a host or moderator holds that role in `rooms`."""
        user = self.users[name]
        grants = {room: user.role for room in rooms} if user.role in (Role.HOST, Role.MODERATOR) else {}
        return Moderator(user.id, user.role, grants)

    def files(self) -> list[Path]:
        return sorted(p for p in self.media.rglob("*") if p.is_file())


ROLES = {"buyer": Role.VIEWER, "other": Role.VIEWER, "koc": Role.KOC, "mod": Role.MODERATOR,
         "host": Role.HOST, "operator": Role.OPERATOR}


@pytest.fixture
async def world(database_url: str, tmp_path: Path) -> AsyncIterator[World]:
    db = Database(database_url)
    await db.create_schema()
    repo = SqlUserRepository(db)
    users = {
        name: await repo.add(User(None, f"{name}@example.com", f"{name}昵称", role, None, datetime.now(UTC)))
        for name, role in ROLES.items()
    }
    orders, events = FakeOrders(), RecordedEvents()
    media = tmp_path / "media"
    service = ReviewService(SqlReviewRepository(db), orders, DiskPhotoFiles(media), events=events)
    yield World(service, orders, events, media, users)
    await db.close()


async def test_the_buyer_of_a_received_order_reviews_it_with_photos_stored_on_disk(world: World) -> None:
    buyer = world.author("buyer")
    world.orders.deliver(buyer.user_id, 41)
    review = await world.service.submit(buyer, Submission(41, 5, "  番茄沙沙的，\n酸甜刚好  ", [jpeg(), jpeg((30, 90, 200))]))
    assert review.id is not None and review.status is ReviewStatus.PENDING and review.verified
    assert review.room_id == "farm" and review.products == ("高山有机番茄",) and review.text == "番茄沙沙的， 酸甜刚好"
    assert len(review.photos) == 2 and review.photos[0].sha256 != review.photos[1].sha256
    names = {p.name for p in world.files()}
    assert names == {f"{p.sha256}-{size}.jpg" for p in review.photos for size in (THUMB, LARGE)}
    stored = await world.service.require(review.id)
    assert stored == review
    assert world.events.new == [review]
    assert await world.service.thumbnail(review) == (world.media / "reviews" / review.photos[0].sha256[:2]
                                                      / f"{review.photos[0].sha256}-320.jpg").read_bytes()


async def test_nobody_else_reviews_an_order_and_no_photo_is_decoded_for_them(world: World) -> None:
    buyer, other = world.author("buyer"), world.author("other")
    world.orders.deliver(buyer.user_id, 7)
    for who, order in [(other, 7), (buyer, 8)]:  # someone else's order; an order not received
        with pytest.raises(OrderNotReviewable) as refused:
            await world.service.submit(who, Submission(order, 4, "好", [jpeg()]))
        assert refused.value.code == "order_not_received"
    assert world.files() == [] and world.events.new == []


async def test_an_order_is_reviewed_once_even_when_two_submits_race(world: World) -> None:
    buyer = world.author("buyer")
    world.orders.deliver(buyer.user_id, 9)
    results = await asyncio.gather(
        *(world.service.submit(buyer, Submission(9, 5, f"第{i}次")) for i in range(4)), return_exceptions=True
    )
    made = [r for r in results if isinstance(r, Review)]
    refused = [r for r in results if isinstance(r, AlreadyReviewed)]
    assert len(made) == 1 and len(refused) == 3, results
    with pytest.raises(AlreadyReviewed):
        await world.service.submit(buyer, Submission(9, 1, "again"))


async def test_bad_submissions_are_refused_before_the_order_is_even_looked_up(world: World) -> None:
    buyer = world.author("buyer")
    world.orders.deliver(buyer.user_id, 3)
    cases: list[tuple[Submission, type[DomainError]]] = [
        (Submission(3, 0), BadRating), (Submission(3, 6), BadRating),
        (Submission(3, 5, photos=[b"x"] * 5), TooManyPhotos),
        (Submission(3, 5, "好" * 501), TextTooLong),
    ]
    for submission, error in cases:
        with pytest.raises(error):
            await world.service.submit(buyer, submission)
    assert world.orders.asked == 0


async def test_a_bad_photo_says_which_one_and_nothing_is_stored(world: World) -> None:
    buyer = world.author("buyer")
    world.orders.deliver(buyer.user_id, 5)
    with pytest.raises(DomainError, match="photo 2: ") as refused:
        await world.service.submit(buyer, Submission(5, 5, "好", [jpeg(), b"GIF89a not really"]))
    assert refused.value.code == "bad_photo"
    assert world.files() == []
    # Still reviewable once the photo is fixed.
    assert (await world.service.submit(buyer, Submission(5, 5, "好", [jpeg()]))).id is not None


async def test_hostile_text_is_kept_as_text(world: World) -> None:
    buyer = world.author("buyer")
    for i, text in enumerate(HOSTILE):
        world.orders.deliver(buyer.user_id, 100 + i)
        review = await world.service.submit(buyer, Submission(100 + i, 3, text))
        stored = await world.service.require(review.id or 0)
        assert stored.text == text.replace("\u202e", "")  # the bidi override goes, the rest is kept


async def test_only_moderators_hosts_and_operators_decide_and_a_rejection_says_why(world: World) -> None:
    buyer = world.author("buyer")
    world.orders.deliver(buyer.user_id, 1)
    review = await world.service.submit(buyer, Submission(1, 5, "好吃"))
    assert review.id is not None
    for name in ("buyer", "other", "koc"):
        with pytest.raises(NotAModerator):
            await world.service.approve(world.mod(name), review.id)
        with pytest.raises(NotAModerator):
            await world.service.queue(world.mod(name), ReviewStatus.PENDING, None)
    with pytest.raises(NotAModerator):
        await world.service.approve(Moderator(None, Role.VIEWER), review.id)
    with pytest.raises(ReasonRequired):
        await world.service.reject(world.mod("mod"), review.id, " \u202e\n ")
    assert [r.id for r in await world.service.queue(world.mod("host"), ReviewStatus.PENDING, None)] == [review.id]

    rejected = await world.service.reject(world.mod("mod"), review.id, "照片与商品无关")
    assert rejected.status is ReviewStatus.REJECTED and rejected.reason == "照片与商品无关"
    assert rejected.moderated_by == world.users["mod"].id
    approved = await world.service.approve(world.mod("operator"), review.id)
    assert approved.status is ReviewStatus.APPROVED and approved.reason == ""
    again = await world.service.approve(world.mod("host"), review.id)
    assert again == approved, "a repeated approval changes nothing"
    assert world.events.decisions == [
        (ReviewStatus.PENDING, ReviewStatus.REJECTED), (ReviewStatus.REJECTED, ReviewStatus.APPROVED),
    ]


async def test_the_wall_shows_approved_reviews_newest_approval_first(world: World) -> None:
    buyer, other = world.author("buyer"), world.author("other")
    ids = []
    for i, who in enumerate([buyer, other, buyer]):
        world.orders.deliver(who.user_id, 200 + i, room="farm" if i < 2 else "orchard")
        ids.append((await world.service.submit(who, Submission(200 + i, 4, f"评价{i}"))).id or 0)
    assert await world.service.wall("farm") == []
    mod = world.mod("mod")
    await world.service.approve(mod, ids[1])
    await world.service.approve(mod, ids[0])
    await world.service.approve(mod, ids[2])
    assert [r.id for r in await world.service.wall("farm")] == [ids[0], ids[1]]
    assert [r.id for r in await world.service.wall("orchard")] == [ids[2]]
    await world.service.reject(mod, ids[0], "重复")
    assert [r.id for r in await world.service.wall("farm")] == [ids[1]]


async def test_photos_are_public_once_approved_and_before_that_only_for_author_and_moderators(world: World) -> None:
    buyer = world.author("buyer")
    world.orders.deliver(buyer.user_id, 11)
    review = await world.service.submit(buyer, Submission(11, 5, "晒单", [jpeg()]))
    sha = review.photos[0].sha256
    other = world.users["other"].id
    assert await world.service.photo_visible(sha, Moderator(buyer.user_id, Role.VIEWER))
    assert await world.service.photo_visible(sha, world.mod("mod"))
    assert await world.service.photo_visible(sha, Moderator(None, Role.OPERATOR))
    assert not await world.service.photo_visible(sha, Moderator(other, Role.VIEWER))
    assert not await world.service.photo_visible(sha, Moderator(None, Role.KOC))
    # Moderating another room shows nothing of this one (the review is farm's).
    assert not await world.service.photo_visible(sha, world.mod("mod", rooms=("orchard",)))
    assert not await world.service.photo_visible(sha, Moderator(world.users["mod"].id, Role.MODERATOR))
    await world.service.approve(world.mod("mod"), review.id or 0)
    assert await world.service.photo_visible(sha, Moderator(None, Role.VIEWER))


class BrokenEvents:
    """A live side that is down (Redis away): every broadcast fails."""

    async def submitted(self, review: Review) -> None:
        raise ConnectionError("redis is away")

    async def moderated(self, before: Review, after: Review) -> None:
        raise ConnectionError("redis is away")


async def test_a_failed_broadcast_does_not_undo_or_refuse_what_was_stored(world: World) -> None:
    service = ReviewService(world.service.reviews, world.orders, world.service.files, events=BrokenEvents())
    buyer = world.author("buyer")
    world.orders.deliver(buyer.user_id, 77)
    review = await service.submit(buyer, Submission(77, 5, "好"))
    approved = await service.approve(world.mod("mod"), review.id or 0)
    assert approved.status is ReviewStatus.APPROVED
    assert [r.id for r in await service.wall("farm")] == [review.id]
