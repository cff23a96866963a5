"""Review handlers and broadcasts: validated, authorised Socket.IO events in, domain calls out, and
the live side of every review change (pages, moderators' consoles, the author, the ticker).

Nothing is kept here between events: reviews are in the database, so any node answers any
client, and broadcasts cross nodes through the Socket.IO client manager.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from ..domain.accounts.roles import Role
from ..domain.errors import NotFound
from ..domain.ports import RoomRepository
from ..domain.voice.review_photos import LARGE, THUMB
from ..domain.voice.reviews import Moderator, Review, ReviewService, ReviewStatus
from . import reviews_events as ev
from .server import Client, Realtime, sio_room, user_room

logger = logging.getLogger(__name__)

MOD_ROOM = "reviews-mod"  # operators' consoles: every room's reviews


def mod_room(room_id: str) -> str:
    """The consoles of one room's moderators (and hosts)."""
    return f"reviews-mod:{room_id}"

WallChanged = Callable[[str], Awaitable[None]]


def photo_url(sha256: str, size: int) -> str:
    return f"/media/reviews/{sha256}-{size}.jpg"


def public_view(review: Review) -> dict[str, Any]:
    assert review.id is not None
    approved = review.status is ReviewStatus.APPROVED and review.moderated_at is not None
    return ev.ReviewOut(
        id=review.id, room=review.room_id, nickname=review.nickname, rating=review.rating,
        text=review.text, verified=review.verified, products=list(review.products),
        photos=[
            ev.PhotoOut(thumb=photo_url(p.sha256, THUMB), large=photo_url(p.sha256, LARGE), width=p.width, height=p.height)
            for p in review.photos
        ],
        created_at=review.created_at.isoformat(),
        approved_at=review.moderated_at.isoformat() if approved and review.moderated_at else None,
    ).model_dump()


def own_view(review: Review) -> dict[str, Any]:
    return ev.OwnReviewOut(
        **public_view(review), status=review.status.value, reason=review.reason, order_id=review.order_id
    ).model_dump()


def mod_view(review: Review) -> dict[str, Any]:
    return ev.ModReviewOut(
        **own_view(review), user_id=review.user_id, received_at=review.received_at.isoformat(),
        moderated_by=review.moderated_by,
        moderated_at=review.moderated_at.isoformat() if review.moderated_at else None,
    ).model_dump()


def moderator(client: Client) -> Moderator:
    return Moderator(client.user_id, client.account_role, client.grants)


class ReviewBroadcaster:
    """The ReviewEvents port: tells pages, consoles, the author and the ticker what changed."""

    def __init__(self, realtime: Realtime, wall_changed: WallChanged) -> None:
        self.sio = realtime.sio
        self.wall_changed = wall_changed

    async def submitted(self, review: Review) -> None:
        await self.sio.emit(ev.PENDING, mod_view(review), room=[MOD_ROOM, mod_room(review.room_id)])

    async def moderated(self, before: Review, after: Review) -> None:
        room = after.room_id
        await self.sio.emit(ev.MODERATED, mod_view(after), room=[MOD_ROOM, mod_room(room)])
        await self.sio.emit(ev.STATUS, own_view(after), room=user_room(after.user_id))
        if after.status is ReviewStatus.APPROVED:
            await self.sio.emit(ev.APPROVED, {"room": room, "review": public_view(after)}, room=sio_room(room))
        elif before.status is ReviewStatus.APPROVED:
            await self.sio.emit(ev.REMOVED, {"room": room, "id": after.id}, room=sio_room(room))
        if ReviewStatus.APPROVED in (before.status, after.status):
            await self.wall_changed(room)


class ReviewsRealtime:
    """Registers the review events on the Socket.IO server and runs them against the service."""

    def __init__(
        self, realtime: Realtime, service: Callable[[], ReviewService], rooms: Callable[[], RoomRepository]
    ) -> None:
        self.sio = realtime.sio
        self._service = service
        self._rooms = rooms
        on = realtime.on
        on(ev.WALL, ev.WallPayload)(self.wall)
        # A review belongs to the room of the order it reviews: its moderators decide.
        on(ev.QUEUE, ev.QueuePayload, Role.MODERATOR, room=self._queue_room)(self.queue)
        on(ev.APPROVE, ev.ReviewRef, Role.MODERATOR, room=self._review_room)(self.approve)
        on(ev.REJECT, ev.RejectPayload, Role.MODERATOR, room=self._review_room)(self.reject)

    @property
    def service(self) -> ReviewService:
        return self._service()

    async def _review_room(self, payload: ev.ReviewRef) -> str:
        return await self.service.room_of(payload.id)

    @staticmethod
    async def _queue_room(payload: ev.QueuePayload) -> str | None:
        return payload.room  # None: every room the caller moderates

    async def wall(self, client: Client, p: ev.WallPayload) -> dict[str, Any]:
        if await self._rooms().get(p.room) is None:
            raise NotFound(f"no room {p.room!r}")
        await self.sio.enter_room(client.sid, sio_room(p.room))
        reviews = await self.service.wall(p.room)
        return {"ok": True, "room": p.room, "reviews": [public_view(r) for r in reviews]}

    async def queue(self, client: Client, p: ev.QueuePayload) -> dict[str, Any]:
        status = None if p.status == "all" else ReviewStatus(p.status)
        who = moderator(client)
        reviews = await self.service.queue(who, status, p.room)  # refuses non-moderators
        # Live updates only for the rooms this caller moderates (operators: every room).
        rooms = who.rooms()
        if rooms is None:
            await self.sio.enter_room(client.sid, MOD_ROOM)
        else:
            for room_id in [p.room] if p.room is not None else rooms:
                await self.sio.enter_room(client.sid, mod_room(room_id))
        return {"ok": True, "status": p.status, "room": p.room, "reviews": [mod_view(r) for r in reviews]}

    async def approve(self, client: Client, p: ev.ReviewRef) -> dict[str, Any]:
        review = await self.service.approve(moderator(client), p.id)
        return {"ok": True, "review": mod_view(review)}

    async def reject(self, client: Client, p: ev.RejectPayload) -> dict[str, Any]:
        review = await self.service.reject(moderator(client), p.id, p.reason)
        return {"ok": True, "review": mod_view(review)}
