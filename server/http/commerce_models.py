"""What commerce sends out (REST responses and Socket.IO payloads), built from domain objects."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel

from ..domain.commerce.catalog import Product
from ..domain.commerce.communities import Community, PickupPoint
from ..domain.commerce.flash_claims import FlashClaim
from ..domain.commerce.group_buy import GroupBuy, progress, progress_text
from ..domain.commerce.live_sessions import LiveSession, Pin
from ..domain.commerce.orders import Order


class ProductPublic(BaseModel):
    id: int
    name_zh: str
    name_en: str
    gtin: str
    unit: str
    price_fen: int
    stock: int
    photos: list[str]


def product_public(p: Product, stock: int | None = None) -> ProductPublic:
    assert p.id is not None
    return ProductPublic(id=p.id, name_zh=p.name_zh, name_en=p.name_en, gtin=p.gtin, unit=p.unit,
                         price_fen=p.price_fen, stock=p.stock if stock is None else stock, photos=list(p.photos))


class PickupPointPublic(BaseModel):
    id: int
    name: str
    address: str
    hours: str


class CommunityPublic(BaseModel):
    id: int
    name: str
    leader_name: str
    delivery: bool
    pickup_points: list[PickupPointPublic]


def point_public(p: PickupPoint) -> PickupPointPublic:
    assert p.id is not None
    return PickupPointPublic(id=p.id, name=p.name, address=p.address, hours=p.hours)


def community_public(c: Community) -> CommunityPublic:
    assert c.id is not None
    return CommunityPublic(id=c.id, name=c.name, leader_name=c.leader_name, delivery=c.delivery,
                           pickup_points=[point_public(p) for p in c.pickup_points])


class PinPublic(BaseModel):
    product_id: int
    pinned_at: datetime
    unpinned_at: datetime | None


def pin_public(p: Pin) -> PinPublic:
    return PinPublic(product_id=p.product_id, pinned_at=p.pinned_at, unpinned_at=p.unpinned_at)


class SessionPublic(BaseModel):
    id: int
    room_id: str
    title: str
    started_at: datetime
    ended_at: datetime | None
    product_ids: list[int]


def session_public(s: LiveSession) -> SessionPublic:
    assert s.id is not None
    return SessionPublic(id=s.id, room_id=s.room_id, title=s.title, started_at=s.started_at, ended_at=s.ended_at,
                         product_ids=list(s.product_ids))


class TierPublic(BaseModel):
    buyers: int
    discount_fen: int


class GroupBuyPublic(BaseModel):
    id: int
    session_id: int
    product_id: int
    community_id: int
    community_name: str
    tiers: list[TierPublic]
    deadline: datetime
    failure_rule: str
    state: str
    buyers: int
    discount_fen: int  # reached now
    missing: int  # buyers still needed for the next tier (0: top tier reached)
    next_discount_fen: int | None
    unlocked: bool
    text_zh: str  # "阳光花园 已有32位邻居下单 再差8位成团"
    text_en: str  # "阳光花园: 32 neighbours in, 8 more to unlock ¥10 off"


def group_buy_public(pool: GroupBuy, buyers: int, community_name: str) -> GroupBuyPublic:
    assert pool.id is not None
    p = progress(pool, pool.final_buyers if pool.final_buyers is not None else buyers)
    zh, en = progress_text(community_name, p)
    return GroupBuyPublic(
        id=pool.id, session_id=pool.session_id, product_id=pool.product_id, community_id=pool.community_id,
        community_name=community_name, tiers=[TierPublic(buyers=t.buyers, discount_fen=t.discount_fen) for t in pool.tiers],
        deadline=pool.deadline, failure_rule=pool.failure_rule.value, state=pool.state.value, buyers=p.buyers,
        discount_fen=p.discount_fen, missing=p.missing,
        next_discount_fen=p.next_tier.discount_fen if p.next_tier else None, unlocked=p.unlocked,
        text_zh=zh, text_en=en,
    )


class FlashClaimPublic(BaseModel):
    id: int
    session_id: int
    product_id: int
    price_fen: int
    quantity: int
    per_buyer_limit: int
    starts_at: datetime
    ends_at: datetime
    remaining: int


def claim_public(c: FlashClaim, remaining: int | None = None) -> FlashClaimPublic:
    assert c.id is not None
    return FlashClaimPublic(id=c.id, session_id=c.session_id, product_id=c.product_id, price_fen=c.price_fen,
                            quantity=c.quantity, per_buyer_limit=c.per_buyer_limit, starts_at=c.starts_at,
                            ends_at=c.ends_at, remaining=c.remaining if remaining is None else remaining)


class PriceLinePublic(BaseModel):
    kind: str
    label_zh: str
    label_en: str
    amount_fen: int


class TimelinePublic(BaseModel):
    state: str
    at: datetime
    note: str


class OrderPublic(BaseModel):
    id: int
    state: str
    created_at: datetime
    room_id: str
    session_id: int
    product_id: int
    product_name_zh: str
    product_name_en: str
    quantity: int
    unit_price_fen: int
    total_fen: int
    refunded_fen: int
    due_fen: int  # what is still to pay (pay at pickup) or was paid, less refunds
    lines: list[PriceLinePublic]
    fulfilment: str
    community_id: int | None
    pickup_point_id: int | None
    delivery_address: str
    contact_name: str
    contact_phone: str
    payment_method: str
    group_buy_id: int | None
    claim_id: int | None
    coupon_code: str | None
    timeline: list[TimelinePublic]


def order_public(o: Order) -> OrderPublic:
    d = o.draft
    return OrderPublic(
        id=o.id, state=o.state.value, created_at=o.created_at, room_id=d.room_id, session_id=d.session_id,
        product_id=d.product_id, product_name_zh=d.product_name_zh, product_name_en=d.product_name_en,
        quantity=d.quantity, unit_price_fen=d.unit_price_fen, total_fen=d.total_fen, refunded_fen=o.refunded_fen,
        due_fen=d.total_fen - o.refunded_fen,
        lines=[PriceLinePublic(kind=line.kind, label_zh=line.label_zh, label_en=line.label_en, amount_fen=line.amount_fen) for line in d.lines],
        fulfilment=d.fulfilment.value, community_id=d.community_id, pickup_point_id=d.pickup_point_id,
        delivery_address=d.delivery_address, contact_name=d.contact_name, contact_phone=d.contact_phone,
        payment_method=d.payment_method.value, group_buy_id=d.group_buy_id, claim_id=d.claim_id,
        coupon_code=d.coupon_code,
        timeline=[TimelinePublic(state=e.state.value, at=e.at, note=e.note) for e in o.timeline],
    )


_last_iso: tuple[datetime | None, str] = (None, "")


def _iso(at: datetime) -> str:
    """A datetime as pydantic writes it in JSON (UTC as Z). The orders written in one batch
    share their time, so the last one written is remembered."""
    global _last_iso
    last, text = _last_iso
    if at is last:
        return text
    text = at.isoformat()
    if text.endswith("+00:00"):
        text = text[:-6] + "Z"
    _last_iso = (at, text)
    return text


def order_public_json(o: Order) -> dict[str, Any]:
    """`order_public(o).model_dump(mode="json")`, written directly: every order a rush places
    goes out through here twice (its event and its reply). A test holds the two equal."""
    d = o.draft
    return {
        "id": o.id, "state": o.state.value, "created_at": _iso(o.created_at), "room_id": d.room_id,
        "session_id": d.session_id, "product_id": d.product_id, "product_name_zh": d.product_name_zh,
        "product_name_en": d.product_name_en, "quantity": d.quantity, "unit_price_fen": d.unit_price_fen,
        "total_fen": d.total_fen, "refunded_fen": o.refunded_fen, "due_fen": d.total_fen - o.refunded_fen,
        "lines": [{"kind": line.kind, "label_zh": line.label_zh, "label_en": line.label_en, "amount_fen": line.amount_fen}
                  for line in d.lines],
        "fulfilment": d.fulfilment.value, "community_id": d.community_id, "pickup_point_id": d.pickup_point_id,
        "delivery_address": d.delivery_address, "contact_name": d.contact_name, "contact_phone": d.contact_phone,
        "payment_method": d.payment_method.value, "group_buy_id": d.group_buy_id, "claim_id": d.claim_id,
        "coupon_code": d.coupon_code,
        "timeline": [{"state": e.state.value, "at": _iso(e.at), "note": e.note} for e in o.timeline],
    }


class OrderResult(BaseModel):
    """The answer to an order-creating call; a retry with the same key gets the same order."""

    order: OrderPublic
    created: bool  # False: this is the answer to an earlier request with the same key


class ShopState(BaseModel):
    """Everything a viewer's shop panel shows on arrival; live events keep it current."""

    session: SessionPublic | None
    products: list[ProductPublic]
    pinned_product_id: int | None
    group_buys: list[GroupBuyPublic]
    flash_claims: list[FlashClaimPublic]
