"""Stored shapes of commerce: catalog, sessions, communities, group-buys, claims, orders, refunds."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, DateTime, UniqueConstraint
from sqlmodel import Field, SQLModel


class ProductRow(SQLModel, table=True):
    __tablename__ = "products"

    id: int | None = Field(default=None, primary_key=True)
    name_zh: str = Field(max_length=60)
    name_en: str = Field(default="", max_length=80)
    gtin: str = Field(default="", max_length=14, index=True)
    unit: str = Field(max_length=20)
    price_fen: int
    # Units available. The embedded mode takes stock here in the order's transaction; with Redis
    # the hot counter is there and orders are applied here in batches (orders.stock_applied).
    stock: int
    photos: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    active: bool = True
    created_at: datetime = Field(sa_type=DateTime(timezone=True))


class LiveSessionRow(SQLModel, table=True):
    __tablename__ = "live_sessions"

    id: int | None = Field(default=None, primary_key=True)
    room_id: str = Field(foreign_key="rooms.id", index=True, max_length=63)
    title: str = Field(default="", max_length=120)
    started_at: datetime = Field(sa_type=DateTime(timezone=True))
    ended_at: datetime | None = Field(default=None, sa_type=DateTime(timezone=True))


class SessionProductRow(SQLModel, table=True):
    __tablename__ = "session_products"

    session_id: int = Field(foreign_key="live_sessions.id", primary_key=True)
    product_id: int = Field(foreign_key="products.id", primary_key=True)
    position: int = 0


class PinRow(SQLModel, table=True):
    __tablename__ = "product_pins"

    id: int | None = Field(default=None, primary_key=True)
    session_id: int = Field(foreign_key="live_sessions.id", index=True)
    product_id: int = Field(foreign_key="products.id")
    pinned_at: datetime = Field(sa_type=DateTime(timezone=True))
    unpinned_at: datetime | None = Field(default=None, sa_type=DateTime(timezone=True))


class CommunityRow(SQLModel, table=True):
    __tablename__ = "communities"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=40, unique=True)
    leader_name: str = Field(max_length=24)
    leader_phone: str = Field(default="", max_length=20)
    delivery: bool = True


class PickupPointRow(SQLModel, table=True):
    __tablename__ = "pickup_points"

    id: int | None = Field(default=None, primary_key=True)
    community_id: int = Field(foreign_key="communities.id", index=True)
    name: str = Field(max_length=40)
    address: str = Field(max_length=120)
    hours: str = Field(default="", max_length=40)


class CommunityPriceRow(SQLModel, table=True):
    __tablename__ = "community_prices"

    community_id: int = Field(foreign_key="communities.id", primary_key=True)
    product_id: int = Field(foreign_key="products.id", primary_key=True)
    price_fen: int


class GroupBuyRow(SQLModel, table=True):
    __tablename__ = "group_buys"
    __table_args__ = (UniqueConstraint("community_id", "product_id", "session_id"),)

    id: int | None = Field(default=None, primary_key=True)
    session_id: int = Field(foreign_key="live_sessions.id", index=True)
    product_id: int = Field(foreign_key="products.id")
    community_id: int = Field(foreign_key="communities.id")
    tiers: list[list[int]] = Field(sa_column=Column(JSON, nullable=False))  # [[buyers, discount_fen], ...]
    deadline: datetime = Field(sa_type=DateTime(timezone=True), index=True)
    failure_rule: str = Field(max_length=16)
    state: str = Field(default="open", max_length=10, index=True)
    final_buyers: int | None = None


class GroupBuyMemberRow(SQLModel, table=True):
    """Distinct buyers of a pool: "32 neighbours in" counts these."""

    __tablename__ = "group_buy_members"

    group_buy_id: int = Field(foreign_key="group_buys.id", primary_key=True)
    user_id: int = Field(foreign_key="users.id", primary_key=True)


class FlashClaimRow(SQLModel, table=True):
    __tablename__ = "flash_claims"

    id: int | None = Field(default=None, primary_key=True)
    session_id: int = Field(foreign_key="live_sessions.id", index=True)
    product_id: int = Field(foreign_key="products.id")
    price_fen: int
    quantity: int
    per_buyer_limit: int
    starts_at: datetime = Field(sa_type=DateTime(timezone=True))
    ends_at: datetime = Field(sa_type=DateTime(timezone=True))
    remaining: int


class ClaimTakeRow(SQLModel, table=True):
    """Units of a claim each buyer holds (the per-buyer limit is checked against this)."""

    __tablename__ = "claim_takes"

    claim_id: int = Field(foreign_key="flash_claims.id", primary_key=True)
    user_id: int = Field(foreign_key="users.id", primary_key=True)
    taken: int


class CouponRow(SQLModel, table=True):
    __tablename__ = "coupons"

    code: str = Field(primary_key=True, max_length=20)
    session_id: int | None = Field(default=None, foreign_key="live_sessions.id")
    discount_fen: int
    min_spend_fen: int = 0
    starts_at: datetime = Field(sa_type=DateTime(timezone=True))
    ends_at: datetime = Field(sa_type=DateTime(timezone=True))


class CouponUseRow(SQLModel, table=True):
    __tablename__ = "coupon_uses"

    code: str = Field(foreign_key="coupons.code", primary_key=True, max_length=20)
    user_id: int = Field(foreign_key="users.id", primary_key=True)
    order_id: int | None = None


class OrderRow(SQLModel, table=True):
    __tablename__ = "orders"
    __table_args__ = (UniqueConstraint("user_id", "idempotency_key", name="uq_orders_idempotency"),)

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="users.id", index=True)
    idempotency_key: str = Field(max_length=64)
    request_hash: str = Field(max_length=64)
    session_id: int = Field(foreign_key="live_sessions.id", index=True)
    room_id: str = Field(max_length=63)
    product_id: int = Field(foreign_key="products.id", index=True)
    product_name_zh: str = Field(max_length=60)
    product_name_en: str = Field(default="", max_length=80)
    quantity: int
    unit_base_fen: int
    unit_price_fen: int
    total_fen: int
    lines: list[dict[str, Any]] = Field(sa_column=Column(JSON, nullable=False))
    fulfilment: str = Field(max_length=10)
    community_id: int | None = Field(default=None, foreign_key="communities.id", index=True)
    pickup_point_id: int | None = Field(default=None, foreign_key="pickup_points.id", index=True)
    delivery_address: str = Field(default="", max_length=200)
    contact_name: str = Field(max_length=24)
    contact_phone: str = Field(max_length=20)
    payment_method: str = Field(max_length=16)
    group_buy_id: int | None = Field(default=None, foreign_key="group_buys.id", index=True)
    claim_id: int | None = Field(default=None, foreign_key="flash_claims.id", index=True)
    coupon_code: str | None = Field(default=None, max_length=20)
    state: str = Field(max_length=20, index=True)
    refunded_fen: int = 0
    # False while a Redis-taken unit is not yet applied to products.stock / flash_claims.remaining.
    stock_applied: bool = Field(default=True, index=True)
    created_at: datetime = Field(sa_type=DateTime(timezone=True))


class OrderEventRow(SQLModel, table=True):
    """The order's timeline: one row per state it entered."""

    __tablename__ = "order_events"

    id: int | None = Field(default=None, primary_key=True)
    order_id: int = Field(foreign_key="orders.id", index=True)
    state: str = Field(max_length=20)
    at: datetime = Field(sa_type=DateTime(timezone=True))
    note: str = Field(default="", max_length=200)


class RefundRow(SQLModel, table=True):
    """A planned or made refund. The id is deterministic, so planning twice plans it once."""

    __tablename__ = "refunds"

    id: str = Field(primary_key=True, max_length=40)
    order_id: int = Field(foreign_key="orders.id", index=True)
    group_buy_id: int | None = Field(default=None, foreign_key="group_buys.id", index=True)
    amount_fen: int
    full: bool = False
    done: bool = Field(default=False, index=True)
    created_at: datetime = Field(sa_type=DateTime(timezone=True))
    done_at: datetime | None = Field(default=None, sa_type=DateTime(timezone=True))


class PaymentEventRow(SQLModel, table=True):
    """Webhook deliveries already handled: a redelivery with the same event id changes nothing."""

    __tablename__ = "payment_events"

    event_id: str = Field(primary_key=True, max_length=80)
    provider: str = Field(max_length=16)
    order_id: int = Field(foreign_key="orders.id")
    amount_fen: int
    received_at: datetime = Field(sa_type=DateTime(timezone=True))


class TestProviderRefundRow(SQLModel, table=True):
    """The test payment provider's own ledger of money sent back (its side of the refund)."""

    __tablename__ = "test_provider_refunds"

    refund_id: str = Field(primary_key=True, max_length=40)
    order_id: int
    amount_fen: int
    at: datetime = Field(sa_type=DateTime(timezone=True))
