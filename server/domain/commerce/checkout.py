"""Buying: from what a viewer asks for to a priced order draft, then to exactly one order.

The server decides every price (list, community price, group-buy tier, flash claim, coupon); the
client may only say which total it showed, to be told `price_changed` if that is stale.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Collection
from dataclasses import dataclass
from datetime import datetime

from ..errors import InvalidInput
from .cache import TtlCache
from .catalog import Product
from .communities import Community
from .coupons import Coupon, normalise_code
from .errors import (
    BadQuantity,
    CommunityRequired,
    CouponNotApplicable,
    CouponUsed,
    NotOnSale,
    PaymentMethodUnavailable,
    PriceChanged,
    UnknownClaim,
    UnknownCommunity,
    UnknownCoupon,
    UnknownPickupPoint,
)
from .flash_claims import FlashClaim
from .group_buy import GroupBuy, tier_reached
from .live_sessions import LiveSession
from .money import yuan
from .orders import Fulfilment, Order, OrderDraft, PaymentMethod, request_fingerprint
from .ports import (
    CatalogRepository,
    ClaimRepository,
    CommunityRepository,
    CouponRepository,
    GroupBuyRepository,
    LiveSessionRepository,
    OrderPlacement,
)
from .pricing import Quote, quote
from .text import clean_line

logger = logging.getLogger(__name__)

MAX_PER_ORDER = 99
_KEY = re.compile(r"^[A-Za-z0-9_-]{8,64}$")
_PHONE = re.compile(r"^(\+?\d[\d\s-]{5,18}\d)$")


@dataclass(frozen=True)
class Buyer:
    user_id: int
    community_id: int | None


@dataclass(frozen=True)
class Delivery:
    """How the goods reach the buyer and who to call."""

    fulfilment: Fulfilment
    pickup_point_id: int | None
    address: str
    contact_name: str
    contact_phone: str


@dataclass(frozen=True)
class BuyRequest:
    room_id: str
    product_id: int
    quantity: int
    delivery: Delivery
    coupon_code: str | None
    payment_method: PaymentMethod
    idempotency_key: str
    expected_total_fen: int | None = None


@dataclass(frozen=True)
class ClaimRequest:
    claim_id: int
    quantity: int
    delivery: Delivery
    payment_method: PaymentMethod
    idempotency_key: str


@dataclass(frozen=True)
class Priced:
    session: LiveSession
    product: Product
    community: Community
    pool: GroupBuy | None
    quote: Quote


def check_key(key: str) -> str:
    if not _KEY.match(key):
        raise InvalidInput("idempotency_key must be 8-64 letters, digits, '-' or '_'")
    return key


def check_quantity(quantity: int, limit: int = MAX_PER_ORDER) -> None:
    if quantity <= 0:
        raise BadQuantity("quantity must be at least 1")
    if quantity > limit:
        raise BadQuantity(f"at most {limit} per order")


class Checkout:
    def __init__(
        self,
        catalog: CatalogRepository,
        sessions: LiveSessionRepository,
        communities: CommunityRepository,
        group_buys: GroupBuyRepository,
        claims: ClaimRepository,
        coupons: CouponRepository,
        placement: OrderPlacement,
        clock: Callable[[], datetime],
        *,
        payment_methods: Collection[PaymentMethod],
    ) -> None:
        self.catalog = catalog
        self.sessions = sessions
        self.communities = communities
        self.group_buys = group_buys
        self.claims = claims
        self.coupons = coupons
        self.placement = placement
        self.clock = clock
        # The methods with a provider behind them: an order nobody could ever pay is refused.
        self.payment_methods = frozenset(payment_methods)
        # Thousands of buyers claim the same thing in the same second: read it once per TTL.
        self._claims = TtlCache(claims.get)
        self._sessions = TtlCache(sessions.get)
        self._products = TtlCache(catalog.get)
        self._communities = TtlCache(communities.get)

    def forget_caches(self) -> None:
        for cache in (self._claims, self._sessions, self._products, self._communities):
            cache.clear()

    # -- shared pieces --------------------------------------------------------------------------

    async def _community(self, buyer: Buyer, *, cached: bool = False) -> Community:
        if buyer.community_id is None:
            raise CommunityRequired("pick your community (小区) first")
        if cached:
            community = await self._communities.get(buyer.community_id)
        else:
            community = await self.communities.get(buyer.community_id)
        if community is None:
            raise UnknownCommunity(f"no community {buyer.community_id}")
        return community

    def _delivery(self, community: Community, delivery: Delivery) -> tuple[int | None, str, str, str]:
        name = clean_line(delivery.contact_name, field="contact_name", max_len=24)
        phone = " ".join(delivery.contact_phone.split())
        if not _PHONE.match(phone):
            raise InvalidInput("contact_phone must be a phone number")
        if delivery.fulfilment is Fulfilment.PICKUP:
            if delivery.pickup_point_id is None:
                raise InvalidInput("choose a pickup point")
            if delivery.pickup_point_id not in {p.id for p in community.pickup_points}:
                raise UnknownPickupPoint(f"no pickup point {delivery.pickup_point_id} in {community.name}")
            return delivery.pickup_point_id, "", name, phone
        if not community.delivery:
            raise InvalidInput(f"{community.name} has pickup only")
        address = clean_line(delivery.address, field="address", max_len=200, min_len=3)
        return None, address, name, phone

    # -- buying at the current price ------------------------------------------------------------

    async def price(self, buyer: Buyer, room_id: str, product_id: int, quantity: int, coupon_code: str | None) -> Priced:
        check_quantity(quantity)
        session = await self.sessions.current(room_id)
        if session is None:
            raise NotOnSale("nothing is on sale in this room right now")
        if product_id not in session.product_ids:
            raise NotOnSale(f"product {product_id} is not on sale in this live session")
        product = await self.catalog.require(product_id)
        community = await self._community(buyer)
        assert community.id is not None and session.id is not None
        community_fen = await self.communities.price(community.id, product_id)
        pool = await self.group_buys.find(session.id, product_id, community.id)
        discount, buyers = 0, 0
        now = self.clock()
        if pool is not None and pool.open_at(now):
            assert pool.id is not None
            buyers = (await self.group_buys.buyers([pool.id]))[pool.id]
            reached = tier_reached(pool.tiers, buyers)
            discount = reached.discount_fen if reached else 0
        elif pool is not None:
            pool = None  # closed: later orders are not part of it
        coupon = await self._coupon(buyer, coupon_code, session)
        q = quote(list_fen=product.price_fen, quantity=quantity, community_fen=community_fen, community_name=community.name,
                  group_discount_fen=discount, group_buyers=buyers, coupon=None)
        if coupon is not None:
            coupon.check(session_id=session.id, subtotal_fen=q.total_fen, now=now)
            q = quote(list_fen=product.price_fen, quantity=quantity, community_fen=community_fen, community_name=community.name,
                      group_discount_fen=discount, group_buyers=buyers, coupon=coupon)
        return Priced(session, product, community, pool, q)

    async def _coupon(self, buyer: Buyer, raw: str | None, session: LiveSession) -> Coupon | None:
        if raw is None or not raw.strip():
            return None
        code = normalise_code(raw)
        coupon = await self.coupons.get(code)
        if coupon is None:
            raise UnknownCoupon(f"no coupon {code}")
        if coupon.session_id is not None and coupon.session_id != session.id:
            raise CouponNotApplicable("this coupon is for another live session")
        if await self.coupons.used(code, buyer.user_id):
            raise CouponUsed("you have used this coupon already")
        return coupon

    def _check_method(self, method: PaymentMethod) -> None:
        if method not in self.payment_methods:
            offered = ", ".join(sorted(m.value for m in self.payment_methods))
            raise PaymentMethodUnavailable(f"payment method {method.value!r} is not enabled here (use {offered})")

    async def buy(self, buyer: Buyer, req: BuyRequest) -> tuple[Order, bool]:
        key = check_key(req.idempotency_key)
        self._check_method(req.payment_method)
        fingerprint = request_fingerprint({
            "kind": "buy", "room": req.room_id, "product": req.product_id, "quantity": req.quantity,
            "delivery": req.delivery.__dict__, "coupon": (req.coupon_code or "").strip().upper(),
            "payment": req.payment_method.value,
        })
        priced = await self.price(buyer, req.room_id, req.product_id, req.quantity, req.coupon_code)
        q = priced.quote
        if req.expected_total_fen is not None and req.expected_total_fen != q.total_fen:
            raise PriceChanged(f"the total is now {yuan(q.total_fen)}, not {yuan(req.expected_total_fen)}")
        pickup, address, name, phone = self._delivery(priced.community, req.delivery)
        assert priced.session.id is not None and priced.product.id is not None
        coupon_line = next((line for line in q.lines if line.kind == "coupon"), None)
        draft = OrderDraft(
            user_id=buyer.user_id, idempotency_key=key, request_hash=fingerprint,
            session_id=priced.session.id, room_id=priced.session.room_id, product_id=priced.product.id,
            product_name_zh=priced.product.name_zh, product_name_en=priced.product.name_en,
            quantity=req.quantity, unit_base_fen=q.unit_base_fen, unit_price_fen=q.unit_price_fen,
            total_fen=q.total_fen, lines=q.lines, fulfilment=req.delivery.fulfilment,
            community_id=priced.community.id, pickup_point_id=pickup, delivery_address=address,
            contact_name=name, contact_phone=phone, payment_method=req.payment_method,
            group_buy_id=priced.pool.id if priced.pool else None,
            coupon_code=normalise_code(req.coupon_code) if coupon_line and req.coupon_code else None,
        )
        order, created = await self.placement.place(draft)
        if created:
            logger.info("order placed", extra={"order": order.id, "user": buyer.user_id, "room": req.room_id})
        return order, created

    # -- flash claims ---------------------------------------------------------------------------

    async def claim(self, buyer: Buyer, req: ClaimRequest, claim: FlashClaim | None = None) -> tuple[Order, bool]:
        key = check_key(req.idempotency_key)
        self._check_method(req.payment_method)
        claim = claim or await self._claims.get(req.claim_id)
        if claim is None:
            raise UnknownClaim(f"no flash claim {req.claim_id}")
        check_quantity(req.quantity, claim.per_buyer_limit)
        claim.check_window(self.clock())
        fingerprint = request_fingerprint({
            "kind": "claim", "claim": req.claim_id, "quantity": req.quantity,
            "delivery": req.delivery.__dict__, "payment": req.payment_method.value,
        })
        session = await self._sessions.get(claim.session_id)
        product = await self._products.get(claim.product_id)
        if product is None:
            raise UnknownClaim(f"flash claim {req.claim_id} has no product")
        community = await self._community(buyer, cached=True)
        pickup, address, name, phone = self._delivery(community, req.delivery)
        assert session is not None and product.id is not None and claim.id is not None
        q = quote(list_fen=product.price_fen, quantity=req.quantity, claim_fen=claim.price_fen)
        draft = OrderDraft(
            user_id=buyer.user_id, idempotency_key=key, request_hash=fingerprint,
            session_id=claim.session_id, room_id=session.room_id, product_id=product.id,
            product_name_zh=product.name_zh, product_name_en=product.name_en, quantity=req.quantity,
            unit_base_fen=q.unit_base_fen, unit_price_fen=q.unit_price_fen, total_fen=q.total_fen, lines=q.lines,
            fulfilment=req.delivery.fulfilment, community_id=community.id, pickup_point_id=pickup,
            delivery_address=address, contact_name=name, contact_phone=phone, payment_method=req.payment_method,
            claim_id=claim.id, claim_limit=claim.per_buyer_limit,
        )
        return await self.placement.place(draft)
