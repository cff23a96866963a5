"""The commerce feature: catalog, communities, group-buys, flash claims, orders and payments.

`setup(app)` adds the REST routes, the Socket.IO handlers, a cleanup context that builds the
repositories and services (SQL placement by default, Redis placement when FIELDCAST_REDIS_URL is
set), reconciles reservations a crash left behind, runs the settlement and stock-apply loops, and
installs the shop overlay layers into every live room.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from aiohttp import web

from ..domain.commerce.cache import TtlCache
from ..domain.commerce.catalog import Product
from ..domain.commerce.checkout import Buyer, BuyRequest, Checkout, ClaimRequest
from ..domain.commerce.flash_claims import FlashClaim
from ..domain.commerce.fulfilment import Fulfilment
from ..domain.commerce.orders import Order, PaymentMethod
from ..domain.commerce.payments import PaymentProvider
from ..domain.commerce.settlement import Settlement
from ..http import communities as communities_http
from ..http import coupons as coupons_http
from ..http import flash_claims as claims_http
from ..http import group_buys as group_buys_http
from ..http import live_sessions as sessions_http
from ..http import openapi, webhooks
from ..http import orders as orders_http
from ..http import product_photos as photos_http
from ..http import products as products_http
from ..http.commerce_keys import COMMERCE
from ..http.keys import DATABASE, MEDIA, REALTIME, SETTINGS
from ..integrations.payments.pay_at_pickup import PayAtPickup
from ..integrations.payments.test_provider import TestProvider
from ..persistence.accounts import SqlUserRepository
from ..persistence.commerce_catalog import (
    SqlCatalog,
    SqlCommunities,
    SqlCoupons,
    SqlFlashClaims,
    SqlGroupBuys,
    SqlLiveSessions,
)
from ..persistence.commerce_orders import (
    SqlOrderLookup,
    SqlOrderPlacement,
    SqlOrders,
    SqlTestProviderLedger,
)
from ..persistence.commerce_redis import RedisOrderPlacement, redis_client
from ..persistence.db import Database
from ..persistence.product_photos import DiskProductPhotos
from ..realtime.commerce import CommerceRealtime

logger = logging.getLogger(__name__)

SETTLE_EVERY_S = 1.0
APPLY_EVERY_S = 0.5


def _utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass
class Commerce:
    """Everything commerce keeps on the app (under COMMERCE)."""

    db: Database
    catalog: SqlCatalog
    sessions: SqlLiveSessions
    communities: SqlCommunities
    group_buys: SqlGroupBuys
    claims: SqlFlashClaims
    coupons: SqlCoupons
    orders: SqlOrders
    users: SqlUserRepository
    placement: SqlOrderPlacement | RedisOrderPlacement
    providers: dict[PaymentMethod, PaymentProvider]
    ledger: SqlTestProviderLedger
    checkout: Checkout
    fulfilment: Fulfilment
    settlement: Settlement
    lookup: SqlOrderLookup
    live: CommerceRealtime
    # A buyer's community id for HTTP callers that are not the user themselves: cached briefly
    # (forgotten at once on this node when it changes, within the TTL on the others).
    user_community: TtlCache[int, int | None]
    photos: DiskProductPhotos
    clock: Callable[[], datetime] = _utcnow
    redis: Any = None
    # The background loops by name ("settlement", "stock apply"), so they can be watched.
    background: dict[str, asyncio.Task[None]] = field(default_factory=dict)

    def forget_caches(self) -> None:
        self.checkout.forget_caches()

    # -- the calls HTTP and Socket.IO share -------------------------------------------------------

    async def buy(self, buyer: Buyer, request: BuyRequest) -> tuple[Order, bool]:
        order, created = await self.checkout.buy(buyer, request)
        if created:
            await self._placed(order)
        return order, created

    async def claim(self, buyer: Buyer, request: ClaimRequest) -> tuple[Order, bool]:
        order, created = await self.checkout.claim(buyer, request)
        if created:
            await self._placed(order)
        return order, created

    async def _placed(self, order: Order) -> None:
        await self.live.order_placed(order)
        await self.live.units_changed(order.product_id, order.claim_id, order.room_id)
        if order.group_buy_id is not None:
            await self.live.group_buy_changed(order.group_buy_id)

    async def remaining(self, product_id: int, claim_id: int | None) -> int:
        """Units left now: the hot counter when Redis holds one, else the SQL value."""
        if isinstance(self.placement, RedisOrderPlacement):
            left = await self.placement.left(product_id, claim_id)
            if left is not None:
                return left
            await self.placement.seed(product_id, claim_id)
            left = await self.placement.left(product_id, claim_id)
            if left is not None:
                return left
        if claim_id is not None:
            claim = await self.claims.get(claim_id)
            return claim.remaining if claim else 0
        product = await self.catalog.get(product_id)
        return product.stock if product else 0

    async def stock_change(self, product_id: int, delta: int) -> Product:
        """Operator stock changes: the hot counter first (it decides), then SQL; undone together."""
        redis_placement = self.placement if isinstance(self.placement, RedisOrderPlacement) else None
        if redis_placement is not None:
            await redis_placement.adjust_stock(product_id, delta)
        try:
            return await self.catalog.add_stock(product_id, delta)
        except Exception:
            if redis_placement is not None:
                await redis_placement.adjust_stock(product_id, -delta)
            raise

    async def create_claim(self, claim: FlashClaim) -> FlashClaim:
        """A claim's units come out of the product's stock (and its hot counter) when it is made."""
        redis_placement = self.placement if isinstance(self.placement, RedisOrderPlacement) else None
        if redis_placement is not None:
            await redis_placement.adjust_stock(claim.product_id, -claim.quantity)
        try:
            made = await self.claims.add(claim)
        except Exception:
            if redis_placement is not None:
                await redis_placement.adjust_stock(claim.product_id, claim.quantity)
            raise
        await self.live.units_changed(claim.product_id, None)
        return made


def build(app: web.Application, clock: Callable[[], datetime] = _utcnow) -> Commerce:
    settings = app[SETTINGS]
    db = app[DATABASE]
    catalog, sessions, communities = SqlCatalog(db), SqlLiveSessions(db), SqlCommunities(db)
    group_buys, claims, coupons = SqlGroupBuys(db), SqlFlashClaims(db), SqlCoupons(db)
    orders = SqlOrders(db)
    redis = redis_client(settings.redis_url) if settings.redis_url else None
    placement: SqlOrderPlacement | RedisOrderPlacement = (
        RedisOrderPlacement(db, orders, redis, clock) if redis is not None else SqlOrderPlacement(db, orders, clock)
    )
    ledger = SqlTestProviderLedger(db)
    providers: dict[PaymentMethod, PaymentProvider] = {PaymentMethod.PAY_AT_PICKUP: PayAtPickup()}
    if settings.test_payments_secret:
        providers[PaymentMethod.TEST] = TestProvider(settings.test_payments_secret, ledger, clock)
    live = CommerceRealtime(app)
    checkout = Checkout(catalog, sessions, communities, group_buys, claims, coupons, placement, clock,
                        payment_methods=providers.keys())
    users = SqlUserRepository(db)

    async def load_community(user_id: int) -> int | None:
        user = await users.get(user_id)
        return user.community_id if user else None

    return Commerce(
        db=db, catalog=catalog, sessions=sessions, communities=communities, group_buys=group_buys,
        claims=claims, coupons=coupons, orders=orders, users=users, placement=placement,
        providers=providers, ledger=ledger, checkout=checkout,
        fulfilment=Fulfilment(orders, placement, providers, clock, live),
        settlement=Settlement(group_buys, orders, providers, placement, clock, live),
        lookup=SqlOrderLookup(orders), live=live, clock=clock, redis=redis,
        user_community=TtlCache(load_community, ttl_s=2.0),
        photos=DiskProductPhotos(settings.media_dir),
    )


async def _loop(name: str, every_s: float, step: Callable[[], Any]) -> None:
    while True:
        try:
            await step()
        except asyncio.CancelledError:
            raise
        except Exception:
            logger.exception("commerce %s failed; trying again", name)
        await asyncio.sleep(every_s)


async def _commerce(app: web.Application) -> AsyncIterator[None]:
    commerce = build(app)
    app[COMMERCE] = commerce
    tasks = commerce.background
    if isinstance(commerce.placement, RedisOrderPlacement):
        # A crash between the Lua script and the SQL write left reservations with no order.
        await commerce.placement.reconcile()
        redis_placement = commerce.placement

        async def apply_and_reconcile() -> None:
            await commerce.orders.apply_stock()
            await redis_placement.reconcile(older_than_s=10.0)

        tasks["stock apply"] = asyncio.ensure_future(_loop("stock apply", APPLY_EVERY_S, apply_and_reconcile))
    tasks["settlement"] = asyncio.ensure_future(_loop("settlement", SETTLE_EVERY_S, commerce.settlement.settle_due))
    await commerce.live.start(app[MEDIA])
    yield
    for task in tasks.values():
        task.cancel()
    for task in tasks.values():
        with contextlib.suppress(asyncio.CancelledError):
            await task
    await commerce.live.stop()
    if isinstance(commerce.placement, RedisOrderPlacement):
        # Apply what is left so SQL is current when this node stops.
        with contextlib.suppress(Exception):
            await commerce.orders.apply_stock()
    if commerce.redis is not None:
        await commerce.redis.aclose()


def setup(app: web.Application) -> None:
    app.cleanup_ctx.append(_commerce)
    for module in (products_http, photos_http, communities_http, coupons_http, sessions_http, group_buys_http, claims_http, orders_http, webhooks, openapi):
        app.add_routes(module.routes)
    CommerceRealtime.register(app[REALTIME], app)
