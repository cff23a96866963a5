"""Group-buys: operators open one pool per community for a product in a session; anyone may read
the progress; settlement runs by itself at the deadline (or now, when an operator asks after it)."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Literal

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field

from ..domain.accounts.roles import Role
from ..domain.commerce.errors import UnknownCommunity, UnknownGroupBuy
from ..domain.commerce.group_buy import FailureRule, GroupBuy, Tier, check_tiers
from ..domain.errors import InvalidInput
from .auth import require_role
from .body import read_json
from .commerce_keys import COMMERCE
from .commerce_models import GroupBuyPublic
from .live_sessions import _session, ensure_on_sale
from .openapi import api
from .products import _id

logger = logging.getLogger(__name__)
routes = web.RouteTableDef()


class TierIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    buyers: int = Field(ge=2, le=100_000)
    discount_fen: int = Field(gt=0)


class GroupBuyCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    product_id: int = Field(gt=0)
    community_ids: list[int] = Field(min_length=1, max_length=500, description="one pool per community")
    tiers: list[TierIn] = Field(min_length=1, max_length=5)
    deadline: datetime
    failure_rule: Literal["refund_all", "ship_at_list"] = "ship_at_list"


class RefundPublic(BaseModel):
    id: str
    order_id: int
    amount_fen: int
    full: bool
    done: bool


@routes.post("/api/sessions/{session_id}/group-buys")
@api("Open group-buy pools for a product, one per community", tag="group-buys", role=Role.OPERATOR,
     body=GroupBuyCreate, response=GroupBuyPublic, list_response=True, status=201)
async def create_group_buys(request: web.Request) -> web.Response:
    await require_role(request, Role.OPERATOR)
    body = GroupBuyCreate.model_validate(await read_json(request))
    commerce = request.app[COMMERCE]
    session_id, room_id = await _session(request)
    session = await commerce.sessions.get(session_id)
    assert session is not None
    ensure_on_sale(session.product_ids, body.product_id)
    product = await commerce.catalog.require(body.product_id)
    if body.deadline.tzinfo is None:
        raise InvalidInput("deadline needs a timezone (e.g. 2026-06-01T20:00:00+08:00)")
    if body.deadline <= commerce.clock():
        raise InvalidInput("the deadline has passed already")
    tiers = check_tiers([Tier(t.buyers, t.discount_fen) for t in body.tiers], product.price_fen)
    made = []
    for community_id in dict.fromkeys(body.community_ids):
        if await commerce.communities.get(community_id) is None:
            raise UnknownCommunity(f"no community {community_id}")
    for community_id in dict.fromkeys(body.community_ids):
        pool = await commerce.group_buys.add(GroupBuy(
            None, session_id, body.product_id, community_id, tiers, body.deadline, FailureRule(body.failure_rule)))
        assert pool.id is not None
        made.append(await commerce.live.group_buy_view(pool.id))
    await commerce.live.shop_changed(room_id)
    return web.json_response([m.model_dump(mode="json") for m in made], status=201)


@routes.get("/api/group-buys/{group_buy_id}")
@api("A group-buy's progress", tag="group-buys", role=None, response=GroupBuyPublic)
async def get_group_buy(request: web.Request) -> web.Response:
    await require_role(request, Role.VIEWER)
    view = await request.app[COMMERCE].live.group_buy_view(_id(request, "group_buy_id"))
    return web.json_response(view.model_dump(mode="json"))


@routes.post("/api/group-buys/{group_buy_id}/settle")
@api("Settle a group-buy whose deadline has passed (it also happens by itself)", tag="group-buys",
     role=Role.OPERATOR, response=GroupBuyPublic)
async def settle_group_buy(request: web.Request) -> web.Response:
    await require_role(request, Role.OPERATOR)
    commerce = request.app[COMMERCE]
    pool = await commerce.group_buys.get(_id(request, "group_buy_id"))
    if pool is None or pool.id is None:
        raise UnknownGroupBuy(f"no group-buy {request.match_info['group_buy_id']}")
    if pool.deadline > commerce.clock():
        raise InvalidInput("the deadline has not passed yet")
    await commerce.settlement.settle(pool.id)
    return web.json_response((await commerce.live.group_buy_view(pool.id)).model_dump(mode="json"))


@routes.get("/api/group-buys/{group_buy_id}/refunds")
@api("Refunds a group-buy's settlement made or will make", tag="group-buys", role=Role.OPERATOR,
     response=RefundPublic, list_response=True)
async def list_refunds(request: web.Request) -> web.Response:
    await require_role(request, Role.OPERATOR)
    rows = await request.app[COMMERCE].orders.refunds(_id(request, "group_buy_id"))
    return web.json_response([RefundPublic(id=r.id, order_id=r.order_id, amount_fen=r.amount_fen, full=r.full, done=r.done).model_dump() for r in rows])
