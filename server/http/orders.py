"""Orders: quote and place (idempotent), the buyer's own orders, cancellation, and the operator's
views (per community and pickup point, pick lists, CSV export) and status changes."""

from __future__ import annotations

import csv
import io
import logging
from typing import Literal

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field

from ..domain.accounts.roles import Role
from ..domain.commerce.checkout import Buyer, BuyRequest, Delivery
from ..domain.commerce.errors import UnknownOrder
from ..domain.commerce.orders import Fulfilment, Order, OrderState, PaymentMethod
from ..domain.errors import InvalidInput
from .auth import require_role, require_user
from .body import read_json
from .commerce_keys import COMMERCE
from .commerce_models import OrderPublic, OrderResult, PriceLinePublic, order_public_json
from .openapi import api
from .params import QueryId
from .products import _id

logger = logging.getLogger(__name__)
routes = web.RouteTableDef()

IDEMPOTENCY_HEADER = "Idempotency-Key"


class DeliveryIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    fulfilment: Literal["pickup", "delivery"] = "pickup"
    pickup_point_id: int | None = None
    address: str = Field(default="", max_length=400)
    contact_name: str = Field(min_length=1, max_length=48)
    contact_phone: str = Field(min_length=5, max_length=24)


class OrderCreate(BaseModel):
    """No price field: the server prices every order. `expected_total_fen` is what the buyer saw."""

    model_config = ConfigDict(extra="forbid")
    room_id: str = Field(min_length=2, max_length=63)
    product_id: int = Field(gt=0)
    quantity: int = Field(description="units (1-99)")
    delivery: DeliveryIn
    coupon_code: str | None = Field(default=None, max_length=20)
    payment_method: Literal["pay_at_pickup", "test"] = "pay_at_pickup"
    idempotency_key: str | None = Field(default=None, max_length=64, description="or the Idempotency-Key header")
    expected_total_fen: int | None = None


class QuoteIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    room_id: str = Field(min_length=2, max_length=63)
    product_id: int = Field(gt=0)
    quantity: int
    coupon_code: str | None = Field(default=None, max_length=20)


class QuotePublic(BaseModel):
    product_id: int
    quantity: int
    unit_price_fen: int
    total_fen: int
    lines: list[PriceLinePublic]
    group_buy_id: int | None


class StatusChange(BaseModel):
    model_config = ConfigDict(extra="forbid")
    state: Literal["packed", "departed", "at_pickup", "collected", "delivered", "cancelled"]
    note: str = Field(default="", max_length=200)


class OrderFilter(BaseModel):
    model_config = ConfigDict(extra="forbid")
    session_id: QueryId | None = None
    community_id: QueryId | None = None
    pickup_point_id: QueryId | None = None
    state: OrderState | None = None


class PickLine(BaseModel):
    product_id: int
    product_name_zh: str
    quantity: int
    orders: int


class PickList(BaseModel):
    pickup_point_id: int | None
    pickup_point_name: str
    community_name: str
    lines: list[PickLine]
    order_ids: list[int]


def idempotency_key(request: web.Request, in_body: str | None) -> str:
    key = in_body or request.headers.get(IDEMPOTENCY_HEADER, "")
    if not key:
        raise InvalidInput("an idempotency key is required (idempotency_key or the Idempotency-Key header)")
    return key


def delivery(d: DeliveryIn) -> Delivery:
    return Delivery(Fulfilment(d.fulfilment), d.pickup_point_id, d.address, d.contact_name, d.contact_phone)


async def buyer_for(request: web.Request) -> Buyer:
    _, user = await require_user(request)
    assert user.id is not None
    return Buyer(user.id, user.community_id)


def order_result(request: web.Request, order: Order, created: bool) -> web.Response:
    # The same public form the order's live event carried (OrderResult's shape, built once).
    body = {"order": request.app[COMMERCE].live.order_reply(order), "created": created}
    return web.json_response(body, status=201 if created else 200)


@routes.post("/api/orders/quote")
@api("Price an order line by line without placing it", tag="orders", role=Role.VIEWER, body=QuoteIn, response=QuotePublic)
async def quote_order(request: web.Request) -> web.Response:
    body = QuoteIn.model_validate(await read_json(request))
    buyer = await buyer_for(request)
    priced = await request.app[COMMERCE].checkout.price(buyer, body.room_id, body.product_id, body.quantity, body.coupon_code)
    q = priced.quote
    return web.json_response(QuotePublic(
        product_id=body.product_id, quantity=q.quantity, unit_price_fen=q.unit_price_fen, total_fen=q.total_fen,
        lines=[PriceLinePublic(kind=line.kind, label_zh=line.label_zh, label_en=line.label_en, amount_fen=line.amount_fen) for line in q.lines],
        group_buy_id=priced.pool.id if priced.pool else None,
    ).model_dump())


@routes.post("/api/orders")
@api("Place an order (idempotent: a retry with the same key returns the first answer)", tag="orders",
     role=Role.VIEWER, body=OrderCreate, response=OrderResult, status=201, idempotent_key=True)
async def create_order(request: web.Request) -> web.Response:
    buyer = await buyer_for(request)  # who is asking first: a stranger is refused before the body is read
    body = OrderCreate.model_validate(await read_json(request))
    order, created = await request.app[COMMERCE].buy(buyer, BuyRequest(
        room_id=body.room_id, product_id=body.product_id, quantity=body.quantity, delivery=delivery(body.delivery),
        coupon_code=body.coupon_code, payment_method=PaymentMethod(body.payment_method),
        idempotency_key=idempotency_key(request, body.idempotency_key), expected_total_fen=body.expected_total_fen,
    ))
    return order_result(request, order, created)


@routes.get("/api/orders/mine")
@api("My orders, newest first, with their timelines", tag="orders", role=Role.VIEWER, response=OrderPublic, list_response=True)
async def my_orders(request: web.Request) -> web.Response:
    _, user = await require_user(request)
    orders = await request.app[COMMERCE].orders.list(user_id=user.id)
    return web.json_response([order_public_json(o) for o in reversed(orders)])


@routes.get("/api/orders/{order_id}")
@api("One order (its buyer, or an operator)", tag="orders", role=Role.VIEWER, response=OrderPublic)
async def get_order(request: web.Request) -> web.Response:
    who = await require_role(request, Role.VIEWER)
    order = await request.app[COMMERCE].orders.get(_id(request, "order_id"))
    mine = order is not None and who.user is not None and order.user_id == who.user.id
    if order is None or not (mine or who.role is Role.OPERATOR):
        raise UnknownOrder(f"no order {request.match_info['order_id']}")  # never says whose it is
    return web.json_response(order_public_json(order))


@routes.post("/api/orders/{order_id}/cancel")
@api("Cancel my unpaid order", tag="orders", role=Role.VIEWER, response=OrderPublic)
async def cancel_order(request: web.Request) -> web.Response:
    _, user = await require_user(request)
    assert user.id is not None
    order = await request.app[COMMERCE].fulfilment.cancel_by_buyer(user.id, _id(request, "order_id"))
    return web.json_response(order_public_json(order))


@routes.post("/api/orders/{order_id}/status")
@api("Move an order along (packed, departed, at_pickup, collected, delivered, cancelled)", tag="fulfilment",
     role=Role.OPERATOR, body=StatusChange, response=OrderPublic)
async def change_status(request: web.Request) -> web.Response:
    who = await require_role(request, Role.OPERATOR)
    body = StatusChange.model_validate(await read_json(request))
    order = await request.app[COMMERCE].fulfilment.advance(_id(request, "order_id"), OrderState(body.state), body.note)
    logger.info("order %s -> %s by %s", order.id, body.state, who.label, extra={"order": order.id})
    return web.json_response(order_public_json(order))


def _filter(request: web.Request) -> OrderFilter:
    return OrderFilter.model_validate(dict(request.query))


@routes.get("/api/orders")
@api("Orders, by session, community, pickup point or state", tag="fulfilment", role=Role.OPERATOR,
     query=OrderFilter, response=OrderPublic, list_response=True)
async def list_orders(request: web.Request) -> web.Response:
    await require_role(request, Role.OPERATOR)
    f = _filter(request)
    orders = await request.app[COMMERCE].orders.list(
        session_id=f.session_id, community_id=f.community_id, pickup_point_id=f.pickup_point_id,
        states=[f.state] if f.state else None)
    return web.json_response([order_public_json(o) for o in orders])


CSV_COLUMNS = ["order_id", "created_at", "state", "community", "pickup_point", "fulfilment", "address",
               "contact_name", "contact_phone", "product_id", "product", "quantity", "unit_price_fen",
               "total_fen", "refunded_fen", "due_fen", "payment_method", "group_buy_id", "claim_id", "coupon"]


def _csv_cell(value: object) -> str:
    text = "" if value is None else str(value)
    # Spreadsheet formula injection: a buyer-typed "=HYPERLINK(...)" must stay text.
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


@routes.get("/api/orders.csv")
@api("Orders as CSV (UTF-8 with BOM, opens in Excel/WPS)", tag="fulfilment", role=Role.OPERATOR, query=OrderFilter,
     content_type="text/csv")
async def orders_csv(request: web.Request) -> web.Response:
    await require_role(request, Role.OPERATOR)
    f = _filter(request)
    commerce = request.app[COMMERCE]
    orders = await commerce.orders.list(session_id=f.session_id, community_id=f.community_id,
                                        pickup_point_id=f.pickup_point_id, states=[f.state] if f.state else None)
    communities = {c.id: c for c in await commerce.communities.list()}
    points = {p.id: p for c in communities.values() for p in c.pickup_points}
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_COLUMNS)
    for o in orders:
        d = o.draft
        community = communities.get(d.community_id) if d.community_id else None
        point = points.get(d.pickup_point_id) if d.pickup_point_id else None
        writer.writerow([_csv_cell(v) for v in (
            o.id, o.created_at.isoformat(), o.state.value, community.name if community else "",
            point.name if point else "", d.fulfilment.value, d.delivery_address, d.contact_name, d.contact_phone,
            d.product_id, d.product_name_zh, d.quantity, d.unit_price_fen, d.total_fen, o.refunded_fen,
            d.total_fen - o.refunded_fen, d.payment_method.value, d.group_buy_id, d.claim_id, d.coupon_code,
        )])
    return web.Response(body=("\ufeff" + out.getvalue()).encode(), content_type="text/csv", charset="utf-8",
                        headers={"Content-Disposition": 'attachment; filename="orders.csv"'})


@routes.get("/api/pick-lists")
@api("Pick lists: what to pack for each pickup point (and home delivery)", tag="fulfilment", role=Role.OPERATOR,
     query=OrderFilter, response=PickList, list_response=True)
async def pick_lists(request: web.Request) -> web.Response:
    await require_role(request, Role.OPERATOR)
    f = _filter(request)
    commerce = request.app[COMMERCE]
    to_pack = [OrderState.PENDING_PAYMENT, OrderState.PAID, OrderState.PARTIALLY_REFUNDED, OrderState.PACKED]
    orders = await commerce.orders.list(session_id=f.session_id, community_id=f.community_id,
                                        pickup_point_id=f.pickup_point_id, states=to_pack)
    communities = {c.id: c for c in await commerce.communities.list()}
    points = {p.id: (p, c) for c in communities.values() for p in c.pickup_points}
    groups: dict[int | None, list[Order]] = {}
    for o in orders:
        groups.setdefault(o.pickup_point_id, []).append(o)
    result = []
    for point_id, group in sorted(groups.items(), key=lambda kv: (kv[0] is None, kv[0] or 0)):
        lines: dict[int, PickLine] = {}
        for o in group:
            line = lines.setdefault(o.product_id, PickLine(product_id=o.product_id, product_name_zh=o.product_name_zh, quantity=0, orders=0))
            line.quantity += o.quantity
            line.orders += 1
        point, community = points.get(point_id, (None, None)) if point_id is not None else (None, None)
        result.append(PickList(
            pickup_point_id=point_id, pickup_point_name=point.name if point else "送货上门 / home delivery",
            community_name=community.name if community else "", lines=list(lines.values()),
            order_ids=[o.id for o in group],
        ).model_dump())
    return web.json_response(result)
