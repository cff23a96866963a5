"""Live coupons (直播专享券): operators issue them; buyers type the code at checkout."""

from __future__ import annotations

from datetime import datetime

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field

from ..domain.accounts.roles import Role
from ..domain.commerce.coupons import Coupon, normalise_code
from ..domain.commerce.errors import UnknownSession
from ..domain.errors import InvalidInput
from .auth import require_role
from .body import read_json
from .commerce_keys import COMMERCE
from .openapi import api

routes = web.RouteTableDef()


class CouponCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    code: str = Field(min_length=3, max_length=20)
    session_id: int | None = Field(default=None, description="only in this live session (None: any)")
    discount_fen: int = Field(gt=0, le=100_000_000)
    min_spend_fen: int = Field(default=0, ge=0)
    starts_at: datetime
    ends_at: datetime


class CouponPublic(BaseModel):
    code: str
    session_id: int | None
    discount_fen: int
    min_spend_fen: int
    starts_at: datetime
    ends_at: datetime


@routes.post("/api/coupons")
@api("Issue a live coupon", tag="coupons", role=Role.OPERATOR, body=CouponCreate, response=CouponPublic, status=201)
async def create_coupon(request: web.Request) -> web.Response:
    await require_role(request, Role.OPERATOR)
    body = CouponCreate.model_validate(await read_json(request))
    if body.starts_at.tzinfo is None or body.ends_at.tzinfo is None or body.ends_at <= body.starts_at:
        raise InvalidInput("starts_at and ends_at need a timezone, and ends_at must be later")
    commerce = request.app[COMMERCE]
    if body.session_id is not None and await commerce.sessions.get(body.session_id) is None:
        raise UnknownSession(f"no live session {body.session_id}")
    coupon = await commerce.coupons.add(Coupon(normalise_code(body.code), body.session_id, body.discount_fen,
                                               body.min_spend_fen, body.starts_at, body.ends_at))
    return web.json_response(CouponPublic(**coupon.__dict__).model_dump(mode="json"), status=201)
