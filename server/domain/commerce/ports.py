"""What commerce needs from the outside: repositories, stock placement, order lookup for others."""

from __future__ import annotations

import builtins
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from .catalog import Product
from .communities import Community
from .coupons import Coupon
from .flash_claims import FlashClaim
from .group_buy import GroupBuy, PlannedRefund
from .live_sessions import LiveSession
from .orders import Order, OrderDraft, OrderState
from .payments import PaymentEvent


class CatalogRepository(Protocol):
    async def get(self, product_id: int) -> Product | None: ...
    async def require(self, product_id: int) -> Product:
        """Raises UnknownProduct."""


class LiveSessionRepository(Protocol):
    async def get(self, session_id: int) -> LiveSession | None: ...
    async def current(self, room_id: str) -> LiveSession | None: ...


class CommunityRepository(Protocol):
    async def get(self, community_id: int) -> Community | None: ...
    async def price(self, community_id: int, product_id: int) -> int | None: ...


class GroupBuyRepository(Protocol):
    async def find(self, session_id: int, product_id: int, community_id: int) -> GroupBuy | None: ...
    async def buyers(self, pool_ids: list[int]) -> dict[int, int]: ...


class ClaimRepository(Protocol):
    async def get(self, claim_id: int) -> FlashClaim | None: ...


class CouponRepository(Protocol):
    async def get(self, code: str) -> Coupon | None: ...
    async def used(self, code: str, user_id: int) -> bool: ...


class OrderPlacement(Protocol):
    """Takes stock (or a flash-claim unit) and persists the order, exactly once per idempotency key.

    Two implementations: SQL transactions (the embedded default) and Redis Lua scripts followed by
    the SQL write (when Redis is configured). Raises SoldOut, ClaimLimitReached,
    IdempotencyKeyReused, CouponUsed.
    """

    async def place(self, draft: OrderDraft) -> tuple[Order, bool]:
        """The order and whether this call created it (False: a retry got the first answer)."""

    async def release(self, order: Order) -> None:
        """Give a cancelled order's units back to the hot counter (no-op without one)."""


@dataclass(frozen=True)
class ReceivedOrder:
    """An order its buyer has received: what a verified-buyer review may point at."""

    id: int
    product_names: tuple[str, ...]
    received_at: datetime
    # The room the order was placed in: its review belongs on that room's testimonial wall.
    room_id: str


class OrderLookup(Protocol):
    async def received_order(self, user_id: int, order_id: int) -> ReceivedOrder | None:
        """That user's order if it was collected or delivered, else None."""


class OrderStore(Protocol):
    async def get(self, order_id: int) -> Order | None: ...
    async def require(self, order_id: int) -> Order: ...
    async def list(self, *, group_buy_id: int | None = None, states: builtins.list[OrderState] | None = None) -> builtins.list[Order]: ...
    async def transition(self, order_id: int, to: OrderState, now: datetime, note: str = "") -> tuple[Order, bool]:
        """The moved order, and whether a hot counter must get its units back."""
    async def record_payment(self, event: PaymentEvent, provider: str, now: datetime) -> tuple[Order, bool]: ...
    async def plan_refunds(self, refunds: builtins.list[PlannedRefund], group_buy_id: int, now: datetime) -> None:
        """Insert the refunds not planned yet (by id); planned ones stay as they are."""
    async def pending_refunds(self, group_buy_id: int) -> builtins.list[PlannedRefund]: ...
    async def complete_refund(self, refund: PlannedRefund, now: datetime) -> tuple[Order | None, bool]:
        """Apply a made refund to its order once; (None, False) if it was applied before."""


class GroupBuySettlementRepository(Protocol):
    async def get(self, pool_id: int) -> GroupBuy | None: ...
    async def due(self, now: datetime) -> list[GroupBuy]: ...
    async def begin_settlement(self, pool_id: int) -> GroupBuy: ...
    async def mark_settled(self, pool_id: int) -> None: ...


class CommerceEvents(Protocol):
    """Where the domain tells the live side that something changed (Socket.IO, overlays)."""

    async def order_changed(self, order: Order) -> None: ...
    async def units_changed(self, product_id: int, claim_id: int | None, room_id: str | None = None) -> None: ...
    async def group_buy_changed(self, pool_id: int) -> None: ...


class NoEvents:
    async def order_changed(self, order: Order) -> None:
        return None

    async def units_changed(self, product_id: int, claim_id: int | None, room_id: str | None = None) -> None:
        return None

    async def group_buy_changed(self, pool_id: int) -> None:
        return None
