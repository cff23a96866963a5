"""Orders and their state machine, with the timeline a buyer sees.

pending_payment -> paid -> packed -> departed -> at_pickup -> collected
                                              -> delivered (home delivery)
Pay-at-pickup orders go straight from pending_payment to packed; they are paid on collection.
Any order not yet departed can be cancelled; paid orders can be refunded in part or whole.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum
from typing import Any

import orjson

from .errors import BadTransition
from .pricing import PriceLine


class OrderState(StrEnum):
    PENDING_PAYMENT = "pending_payment"
    PAID = "paid"
    PACKED = "packed"
    DEPARTED = "departed"
    AT_PICKUP = "at_pickup"
    COLLECTED = "collected"
    DELIVERED = "delivered"
    CANCELLED = "cancelled"
    REFUNDED = "refunded"
    PARTIALLY_REFUNDED = "partially_refunded"


class Fulfilment(StrEnum):
    PICKUP = "pickup"
    DELIVERY = "delivery"


class PaymentMethod(StrEnum):
    PAY_AT_PICKUP = "pay_at_pickup"
    TEST = "test"  # the test provider: pays through a signed webhook


S = OrderState
_NEXT: dict[OrderState, frozenset[OrderState]] = {
    S.PENDING_PAYMENT: frozenset({S.PAID, S.PACKED, S.CANCELLED}),
    S.PAID: frozenset({S.PACKED, S.CANCELLED, S.REFUNDED, S.PARTIALLY_REFUNDED}),
    S.PARTIALLY_REFUNDED: frozenset({S.PACKED, S.DEPARTED, S.AT_PICKUP, S.COLLECTED, S.DELIVERED, S.REFUNDED, S.CANCELLED}),
    S.PACKED: frozenset({S.DEPARTED, S.CANCELLED, S.PARTIALLY_REFUNDED, S.REFUNDED}),
    S.DEPARTED: frozenset({S.AT_PICKUP, S.DELIVERED}),
    S.AT_PICKUP: frozenset({S.COLLECTED}),
    S.COLLECTED: frozenset({S.REFUNDED, S.PARTIALLY_REFUNDED}),
    S.DELIVERED: frozenset({S.REFUNDED, S.PARTIALLY_REFUNDED}),
    S.CANCELLED: frozenset(),
    S.REFUNDED: frozenset(),
}
# States in which the goods are still owed to the buyer (stock stays taken).
HOLDS_STOCK = frozenset({S.PENDING_PAYMENT, S.PAID, S.PACKED, S.DEPARTED, S.AT_PICKUP, S.PARTIALLY_REFUNDED, S.COLLECTED, S.DELIVERED})
RECEIVED = frozenset({S.COLLECTED, S.DELIVERED})


@dataclass(frozen=True)
class TimelineEntry:
    state: OrderState
    at: datetime
    note: str = ""


@dataclass(frozen=True)
class OrderDraft:
    """Everything about an order that is decided before stock is taken."""

    user_id: int
    idempotency_key: str
    request_hash: str
    session_id: int
    room_id: str
    product_id: int
    product_name_zh: str
    product_name_en: str
    quantity: int
    unit_base_fen: int
    unit_price_fen: int
    total_fen: int
    lines: tuple[PriceLine, ...]
    fulfilment: Fulfilment
    community_id: int | None
    pickup_point_id: int | None
    delivery_address: str
    contact_name: str
    contact_phone: str
    payment_method: PaymentMethod
    group_buy_id: int | None = None
    claim_id: int | None = None
    claim_limit: int = 0
    coupon_code: str | None = None


@dataclass(frozen=True)
class Order:
    id: int
    draft: OrderDraft
    state: OrderState
    created_at: datetime
    refunded_fen: int = 0
    timeline: tuple[TimelineEntry, ...] = ()

    def __getattr__(self, name: str) -> Any:
        # Draft fields read through: order.quantity, order.user_id, ...
        if name == "draft":
            raise AttributeError(name)
        return getattr(self.draft, name)

    @property
    def received_at(self) -> datetime | None:
        for entry in reversed(self.timeline):
            if entry.state in RECEIVED:
                return entry.at
        return None


def transition(order: Order, to: OrderState, at: datetime, note: str = "") -> Order:
    if to not in _NEXT[order.state]:
        raise BadTransition(f"an order that is {order.state.value} cannot become {to.value}")
    if to is S.PACKED and order.state is S.PENDING_PAYMENT and order.payment_method is not PaymentMethod.PAY_AT_PICKUP:
        raise BadTransition("this order must be paid before it is packed")
    return replace(order, state=to, timeline=(*order.timeline, TimelineEntry(to, at, note)))


def can_transition(current: OrderState, to: OrderState) -> bool:
    return to in _NEXT[current]


def request_fingerprint(fields: dict[str, Any]) -> str:
    """What makes two requests "the same" for an idempotency key: their content, canonically."""
    return hashlib.sha256(orjson.dumps(fields, option=orjson.OPT_SORT_KEYS, default=str)).hexdigest()
