"""Socket.IO event names and payload models of commerce, in one place."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from ..http.commerce_models import GroupBuyPublic, OrderPublic, ProductPublic
from ..http.orders import DeliveryIn, OrderCreate

# client -> server
SHOP_JOIN = "shop.join"  # {room}: the shop state now, and live events from then on
CLAIM = "claim"  # a flash claim; the ack is the result
ORDER_CREATE = "order.create"  # the same body as POST /api/orders
PIN = "product.pin"  # host: pin a product (讲解)
UNPIN = "product.unpin"  # host
# server -> client (room:<id> unless said otherwise)
PRODUCT_PINNED = "product.pinned"
STOCK_CHANGED = "stock.changed"
GROUPBUY_PROGRESS = "groupbuy.progress"
SHOP_CHANGED = "shop.changed"  # products, pools or claims were added: fetch the shop state again
CLAIM_RESULT = "claim.result"  # to user:<id> only
ORDER_STATUS = "order.status"  # to user:<id> only: a viewer receives only their own orders

_ROOM = Field(min_length=2, max_length=63, pattern=r"^[a-z0-9][a-z0-9-]+$")


class ShopJoin(BaseModel):
    model_config = ConfigDict(extra="forbid")
    room: str = _ROOM


class ClaimPayload(BaseModel):
    model_config = ConfigDict(extra="forbid")
    claim_id: int = Field(gt=0)
    quantity: int = 1
    delivery: DeliveryIn
    payment_method: Literal["pay_at_pickup", "test"] = "pay_at_pickup"
    idempotency_key: str = Field(min_length=8, max_length=64)


class OrderCreatePayload(OrderCreate):
    idempotency_key: str = Field(min_length=8, max_length=64)


class PinPayload(BaseModel):
    model_config = ConfigDict(extra="forbid")
    room: str = _ROOM
    product_id: int = Field(gt=0)


class UnpinPayload(BaseModel):
    model_config = ConfigDict(extra="forbid")
    room: str = _ROOM


class ProductPinned(BaseModel):
    room: str
    product: ProductPublic | None  # None: unpinned
    at: str


class StockChanged(BaseModel):
    room: str
    product_id: int
    claim_id: int | None
    remaining: int


class GroupBuyProgress(GroupBuyPublic):
    room: str


class ClaimResult(BaseModel):
    claim_id: int
    ok: bool
    order_id: int | None = None
    error: str | None = None


class OrderStatus(OrderPublic):
    pass
