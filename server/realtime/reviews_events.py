"""Verified-buyer reviews over Socket.IO: event names, payload models and the shapes that go out.

Who may call what
    anyone (anonymous too)          reviews:wall
    moderators, hosts, operators    reviews:queue, review:approve, review:reject
Hosts and moderators only for the rooms they hold a grant for (a review belongs to the room of
its order; reviews:queue without a room lists every room they moderate); operators everywhere.
Writing a review is a photo upload, so it is HTTP only: POST /api/reviews (multipart).
A refused or invalid call is answered (the ack) with {"error": code, "message": text}; codes:
forbidden, invalid_input, not_found, review_not_found.

Client -> server (payload -> ack)
    reviews:wall {room}
        -> {ok, room, reviews: [Review]}
        The room's approved reviews, most recently approved first (at most 50). Also joins the
        room's broadcasts (as `join` does), so review:approved and review:removed follow.
    reviews:queue {status: "pending"|"approved"|"rejected"|"all" = "pending", room: str|null = null}
        -> {ok, status, room, reviews: [ModReview]}
        Oldest first (a queue to work through), of one room or all the caller's rooms. Also joins
        the moderation channel of those rooms (an operator's: every room), so review:pending and
        review:moderated follow.
    review:approve {id}          -> {ok, review: ModReview}
    review:reject {id, reason}   -> {ok, review: ModReview}
        reason: 1-200 characters, shown to the author. Either may be applied to a review already
        decided (a moderator changes their mind); repeating the same decision changes nothing and
        sends no event.

Server -> client
    to the room ("room:<id>", everyone who joined or asked for its wall):
        review:approved  {room, review: Review}   a review went on the wall (and the ticker)
        review:removed   {room, id}               an approved review was rejected: take it down
    to the moderation channel of the review's room (its moderators who called reviews:queue):
        review:pending   ModReview                a review was submitted and waits
        review:moderated ModReview                a review was approved or rejected (by anyone)
    to the author's connections ("user:<id>", every signed-in connection):
        review:status    OwnReview                your review was approved or rejected

Shapes (times are ISO 8601 UTC; photo URLs are stable: /media/reviews/<sha256>-<320|1080>.jpg)
    Review     {id, room, nickname, rating: 1-5, text, verified: true, products: [str],
                photos: [{thumb, large, width, height}], created_at, approved_at: str|null}
    OwnReview  Review + {status: "pending"|"approved"|"rejected", reason, order_id}
    ModReview  OwnReview + {user_id, received_at, moderated_by: int|null, moderated_at: str|null}
Text fields are user text: show them with textContent, never as markup.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

# client -> server
WALL = "reviews:wall"
QUEUE = "reviews:queue"
APPROVE = "review:approve"
REJECT = "review:reject"
# server -> client
APPROVED = "review:approved"
REMOVED = "review:removed"
PENDING = "review:pending"
MODERATED = "review:moderated"
STATUS = "review:status"

_ROOM = Field(min_length=2, max_length=63, pattern=r"^[a-z0-9][a-z0-9-]+$")
_REASON_CAP = 4000  # loose: the domain cleans, counts and says what is wrong


class _Payload(BaseModel):
    model_config = ConfigDict(extra="forbid")


class WallPayload(_Payload):
    room: str = _ROOM


class QueuePayload(_Payload):
    status: Literal["pending", "approved", "rejected", "all"] = "pending"
    room: str | None = Field(default=None, min_length=2, max_length=63, pattern=r"^[a-z0-9][a-z0-9-]+$")


class ReviewRef(_Payload):
    id: int = Field(ge=1, le=2**53)


class RejectPayload(ReviewRef):
    reason: str = Field(max_length=_REASON_CAP)


# -- what goes out ------------------------------------------------------------------------------


class PhotoOut(BaseModel):
    thumb: str
    large: str
    width: int
    height: int


class ReviewOut(BaseModel):
    id: int
    room: str
    nickname: str
    rating: int
    text: str
    verified: bool
    products: list[str]
    photos: list[PhotoOut]
    created_at: str
    approved_at: str | None


class OwnReviewOut(ReviewOut):
    status: Literal["pending", "approved", "rejected"]
    reason: str
    order_id: int


class ModReviewOut(OwnReviewOut):
    user_id: int
    received_at: str
    moderated_by: int | None
    moderated_at: str | None
