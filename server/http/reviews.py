"""Reviews API: buyers post (multipart, with photos), everyone reads a room's wall, moderators decide;
and the photos themselves at stable URLs, public once their review is approved.

    POST /api/reviews                     multipart: order_id, rating, text, photos (0-4 files)
    GET  /api/rooms/{room_id}/reviews     the room's approved reviews (public)
    GET  /api/reviews?status=pending&room=  moderators: the queue (status: pending|approved|rejected|all)
    POST /api/reviews/{id}/approve        moderators
    POST /api/reviews/{id}/reject         moderators; JSON {"reason": "..."}
    GET  /media/reviews/{sha256}-{320|1080}.jpg
"""

from __future__ import annotations

import logging
from typing import Literal

from aiohttp import BodyPartReader, web
from pydantic import BaseModel, ConfigDict, Field

from ..domain.accounts.roles import Role
from ..domain.errors import InvalidInput, NotFound, Unauthorized
from ..domain.voice.review_photos import MAX_BYTES, SIZES, PhotoTooLarge
from ..domain.voice.reviews import Author, Moderator, ReviewStatus, Submission, check_photo_count
from ..realtime.reviews import mod_view, own_view, public_view
from .auth import Caller, caller, require_user
from .body import read_json
from .keys import ROOMS
from .params import path_int, whole_number
from .review_keys import REVIEW_FILES, REVIEWS

logger = logging.getLogger(__name__)
routes = web.RouteTableDef()

PHOTO_FIELDS = ("photos", "photos[]")
_FIELD_MAX = 16 * 1024  # a text field: 500 characters of any script fit many times over
_CHUNK = 64 * 1024


class ReviewForm(BaseModel):
    """The text fields of POST /api/reviews (the photos are file parts beside them)."""

    model_config = ConfigDict(extra="forbid")
    order_id: int = Field(ge=1, le=2**53)
    rating: int = Field(ge=1, le=5)
    text: str = Field(default="", max_length=2000)  # loose: the domain cleans and counts to 500


class RejectBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason: str = Field(max_length=4000)


def _as_moderator(who: Caller) -> Moderator:
    return Moderator(who.user.id if who.user else None, who.role, who.grants)


async def _moderator(request: web.Request) -> Moderator:
    """A signed-in account or an API token; the service decides, per review's room, whether it
    moderates (its grants say which rooms)."""
    who = await caller(request)
    if who.user is None and who.api_token is None:
        raise Unauthorized("sign in first (or send an API token: Authorization: Bearer <token>)")
    return _as_moderator(who)


async def _read_part(part: BodyPartReader, limit: int, too_big: InvalidInput) -> bytes:
    """The part's bytes, refusing as soon as it passes `limit` (nothing more is read)."""
    chunks: list[bytes] = []
    size = 0
    while chunk := await part.read_chunk(_CHUNK):
        size += len(chunk)
        if size > limit:
            raise too_big
        chunks.append(chunk)
    return b"".join(chunks)


async def _read_submission(request: web.Request) -> tuple[ReviewForm, list[bytes]]:
    if request.content_type == "application/x-www-form-urlencoded":
        # A form without files (a review without photos) may come this way.
        posted = await request.post()
        unknown = set(posted) - set(ReviewForm.model_fields)
        if unknown:
            raise InvalidInput(f"unexpected form field {min(unknown)!r} (photos need multipart/form-data)")
        return ReviewForm.model_validate({k: str(v) for k, v in posted.items()}), []
    if request.content_type != "multipart/form-data":
        raise InvalidInput("send the review as multipart/form-data (fields order_id, rating, text; files photos)")
    fields: dict[str, str] = {}
    photos: list[bytes] = []
    # Streamed part by part: each photo is capped as it arrives, so an oversize or a fifth photo
    # is refused without reading it (the app's 8 MB body limit is for JSON, not for uploads).
    reader = await request.multipart()
    async for part in reader:
        if not isinstance(part, BodyPartReader):
            raise InvalidInput("nested multipart bodies are not accepted")
        name = part.name or ""
        if name in PHOTO_FIELDS:
            check_photo_count(len(photos) + 1)
            number = len(photos) + 1
            too_big = PhotoTooLarge(f"photo {number}: a photo may be at most {MAX_BYTES // (1024 * 1024)} MB")
            photos.append(await _read_part(part, MAX_BYTES, too_big))
        elif name in ReviewForm.model_fields and name not in fields:
            raw = await _read_part(part, _FIELD_MAX, InvalidInput(f"{name}: too long"))
            try:
                fields[name] = raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                raise InvalidInput(f"{name}: not UTF-8 text") from exc
        else:
            raise InvalidInput(f"unexpected form field {name!r} (order_id, rating, text, photos)")
    return ReviewForm.model_validate(fields), photos


@routes.post("/api/reviews")
async def submit_review(request: web.Request) -> web.Response:
    _, user = await require_user(request)
    assert user.id is not None
    form, photos = await _read_submission(request)
    review = await request.app[REVIEWS].submit(
        Author(user.id, user.nickname),
        Submission(order_id=form.order_id, rating=form.rating, text=form.text, photos=photos),
    )
    return web.json_response({"review": own_view(review)}, status=201)


@routes.get("/api/rooms/{room_id}/reviews")
async def room_wall(request: web.Request) -> web.Response:
    room_id = request.match_info["room_id"]
    if await request.app[ROOMS].get(room_id) is None:
        raise NotFound(f"no room {room_id!r}")
    try:
        limit = int(request.query.get("limit", "50"))
    except ValueError as exc:
        raise InvalidInput("limit must be a whole number") from exc
    reviews = await request.app[REVIEWS].wall(room_id, limit)
    return web.json_response({"room": room_id, "reviews": [public_view(r) for r in reviews]})


class QueueQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")
    status: Literal["pending", "approved", "rejected", "all"] = "pending"
    room: str | None = Field(default=None, min_length=2, max_length=63)


@routes.get("/api/reviews")
async def review_queue(request: web.Request) -> web.Response:
    mod = await _moderator(request)
    query = QueueQuery.model_validate(dict(request.query))
    status = None if query.status == "all" else ReviewStatus(query.status)
    reviews = await request.app[REVIEWS].queue(mod, status, query.room)
    return web.json_response({"status": query.status, "room": query.room, "reviews": [mod_view(r) for r in reviews]})


def _review_id(request: web.Request) -> int:
    return path_int(request, "review_id")


@routes.post(r"/api/reviews/{review_id:\d+}/approve")
async def approve_review(request: web.Request) -> web.Response:
    review = await request.app[REVIEWS].approve(await _moderator(request), _review_id(request))
    return web.json_response({"review": mod_view(review)})


@routes.post(r"/api/reviews/{review_id:\d+}/reject")
async def reject_review(request: web.Request) -> web.Response:
    mod = await _moderator(request)
    body = RejectBody.model_validate(await read_json(request))
    review = await request.app[REVIEWS].reject(mod, _review_id(request), body.reason)
    return web.json_response({"review": mod_view(review)})


@routes.get(r"/media/reviews/{sha256:[0-9a-f]{64}}-{size:\d+}.jpg")
async def review_photo(request: web.Request) -> web.StreamResponse:
    sha256, size = request.match_info["sha256"], whole_number(request.match_info["size"])
    if size not in SIZES:
        raise NotFound("no such photo")
    reviews = request.app[REVIEWS]
    public = await reviews.photo_visible(sha256, Moderator(None, Role.VIEWER))
    if not public:
        who = await caller(request)
        if not await reviews.photo_visible(sha256, _as_moderator(who)):
            # The same answer for "no such photo" and "not yours to see (yet)".
            raise NotFound("no such photo")
    response = web.FileResponse(request.app[REVIEW_FILES].path(sha256, size))  # 404 if the file is gone
    # Approved photos may be cached by anyone for a while (a later rejection takes effect within
    # the hour); a pending one is only ever for its author and moderators.
    response.headers["Cache-Control"] = "public, max-age=3600" if public else "private, no-store"
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response
