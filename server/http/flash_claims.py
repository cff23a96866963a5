"""Flash claims (限量尝鲜): operators set one up; signed-in buyers claim (also over Socket.IO)."""

from __future__ import annotations

import logging
from datetime import datetime

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field

from ..domain.accounts.roles import Role
from ..domain.commerce.checkout import ClaimRequest
from ..domain.commerce.errors import UnknownClaim
from ..domain.commerce.flash_claims import FlashClaim, check_claim
from ..domain.commerce.orders import PaymentMethod
from ..domain.errors import InvalidInput
from .auth import require_role
from .body import read_json
from .commerce_keys import COMMERCE
from .commerce_models import FlashClaimPublic, OrderResult
from .live_sessions import _session, ensure_on_sale
from .openapi import api
from .orders import DeliveryIn, buyer_for, delivery, idempotency_key, order_result
from .products import _id

logger = logging.getLogger(__name__)
routes = web.RouteTableDef()


class FlashClaimCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    product_id: int = Field(gt=0)
    price_fen: int = Field(gt=0, le=100_000_000)
    quantity: int = Field(gt=0, le=1_000_000)
    per_buyer_limit: int = Field(default=1, gt=0, le=1000)
    starts_at: datetime
    ends_at: datetime


class ClaimIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    quantity: int = Field(default=1, description="units to claim (at most the per-buyer limit)")
    delivery: DeliveryIn
    payment_method: str = Field(default="pay_at_pickup", pattern=r"^(pay_at_pickup|test)$")
    idempotency_key: str | None = Field(default=None, max_length=64)


@routes.post("/api/sessions/{session_id}/flash-claims")
@api("Set up a flash claim (its units are set aside from the product's stock)", tag="flash-claims",
     role=Role.OPERATOR, body=FlashClaimCreate, response=FlashClaimPublic, status=201)
async def create_claim(request: web.Request) -> web.Response:
    await require_role(request, Role.OPERATOR)
    body = FlashClaimCreate.model_validate(await read_json(request))
    commerce = request.app[COMMERCE]
    session_id, room_id = await _session(request)
    session = await commerce.sessions.get(session_id)
    assert session is not None
    ensure_on_sale(session.product_ids, body.product_id)
    await commerce.catalog.require(body.product_id)
    if body.starts_at.tzinfo is None or body.ends_at.tzinfo is None:
        raise InvalidInput("starts_at and ends_at need a timezone")
    check_claim(price_fen=body.price_fen, quantity=body.quantity, per_buyer_limit=body.per_buyer_limit,
                starts_at=body.starts_at, ends_at=body.ends_at)
    claim = await commerce.create_claim(FlashClaim(
        None, session_id, body.product_id, body.price_fen, body.quantity, body.per_buyer_limit,
        body.starts_at, body.ends_at, body.quantity))
    await commerce.live.shop_changed(room_id)
    return web.json_response((await commerce.live.claim_view(claim)).model_dump(mode="json"), status=201)


@routes.get("/api/flash-claims/{claim_id}")
@api("A flash claim and how many units are left", tag="flash-claims", role=None, response=FlashClaimPublic)
async def get_claim(request: web.Request) -> web.Response:
    await require_role(request, Role.VIEWER)
    commerce = request.app[COMMERCE]
    claim = await commerce.claims.get(_id(request, "claim_id"))
    if claim is None:
        raise UnknownClaim(f"no flash claim {request.match_info['claim_id']}")
    return web.json_response((await commerce.live.claim_view(claim)).model_dump(mode="json"))


@routes.post("/api/flash-claims/{claim_id}/claim")
@api("Claim units of a flash claim", tag="flash-claims", role=Role.VIEWER, body=ClaimIn, response=OrderResult,
     status=201, idempotent_key=True)
async def claim(request: web.Request) -> web.Response:
    buyer = await buyer_for(request)  # who is asking first: a stranger is refused before the body is read
    body = ClaimIn.model_validate(await read_json(request))
    commerce = request.app[COMMERCE]
    order, created = await commerce.claim(buyer, ClaimRequest(
        claim_id=_id(request, "claim_id"), quantity=body.quantity, delivery=delivery(body.delivery),
        payment_method=PaymentMethod(body.payment_method), idempotency_key=idempotency_key(request, body.idempotency_key),
    ))
    return order_result(request, order, created)
