"""Products, live sessions and pins, communities and their prices, group-buys, claims, coupons in SQL."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

from sqlalchemy import func, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select

from ..domain.commerce.catalog import Product
from ..domain.commerce.communities import Community, CommunityPrice, PickupPoint
from ..domain.commerce.coupons import Coupon
from ..domain.commerce.errors import UnknownProduct
from ..domain.commerce.flash_claims import FlashClaim
from ..domain.commerce.group_buy import FailureRule, GroupBuy, PoolState, Tier
from ..domain.commerce.live_sessions import LiveSession, Pin
from ..domain.errors import Conflict
from .commerce_tables import (
    CommunityPriceRow,
    CommunityRow,
    CouponRow,
    CouponUseRow,
    FlashClaimRow,
    GroupBuyMemberRow,
    GroupBuyRow,
    LiveSessionRow,
    PickupPointRow,
    PinRow,
    ProductRow,
    SessionProductRow,
)
from .db import Database
from .utc import aware as _aware


def _opt(value: datetime | None) -> datetime | None:
    return _aware(value) if value is not None else None


def _product(row: ProductRow) -> Product:
    assert row.id is not None
    return Product(
        id=row.id, name_zh=row.name_zh, name_en=row.name_en, gtin=row.gtin, unit=row.unit,
        price_fen=row.price_fen, stock=row.stock, photos=tuple(row.photos), created_at=_aware(row.created_at),
        active=row.active,
    )


class SqlCatalog:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def add(self, product: Product) -> Product:
        row = ProductRow(
            name_zh=product.name_zh, name_en=product.name_en, gtin=product.gtin, unit=product.unit,
            price_fen=product.price_fen, stock=product.stock, photos=list(product.photos),
            created_at=product.created_at.astimezone(UTC),
        )
        async with self.db.session() as s:
            s.add(row)
            await s.commit()
            await s.refresh(row)
            return _product(row)

    async def get(self, product_id: int) -> Product | None:
        async with self.db.session() as s:
            row = await s.get(ProductRow, product_id)
            return _product(row) if row else None

    async def require(self, product_id: int) -> Product:
        product = await self.get(product_id)
        if product is None or not product.active:
            raise UnknownProduct(f"no product {product_id}")
        return product

    async def list(self, ids: list[int] | None = None) -> list[Product]:
        async with self.db.session() as s:
            query = select(ProductRow).where(col(ProductRow.active) == True).order_by(col(ProductRow.id))
            if ids is not None:
                query = query.where(col(ProductRow.id).in_(ids))
            return [_product(r) for r in (await s.execute(query)).scalars()]

    async def update(self, product_id: int, **fields: object) -> Product:
        async with self.db.session() as s:
            row = await s.get(ProductRow, product_id)
            if row is None:
                raise UnknownProduct(f"no product {product_id}")
            for name, value in fields.items():
                setattr(row, name, list(value) if name == "photos" else value)  # type: ignore[call-overload]
            s.add(row)
            await s.commit()
            await s.refresh(row)
            return _product(row)

    async def add_stock(self, product_id: int, delta: int) -> Product:
        """Atomically; the stock never goes below zero."""
        async with self.db.session() as s:
            result = await s.execute(
                update(ProductRow)
                .where(col(ProductRow.id) == product_id, col(ProductRow.stock) + delta >= 0)
                .values(stock=col(ProductRow.stock) + delta)
            )
            await s.commit()
            if not result.rowcount:  # type: ignore[attr-defined]
                raise Conflict("not enough stock to take that many away")
        return await self.require(product_id)


def _session(row: LiveSessionRow, product_ids: list[int]) -> LiveSession:
    assert row.id is not None
    return LiveSession(row.id, row.room_id, row.title, _aware(row.started_at), _opt(row.ended_at), tuple(product_ids))


class SqlLiveSessions:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def start(self, room_id: str, title: str, now: datetime) -> LiveSession:
        async with self.db.session() as s:
            # One broadcast at a time per room: starting a new one ends the previous.
            await s.execute(
                update(LiveSessionRow)
                .where(col(LiveSessionRow.room_id) == room_id, col(LiveSessionRow.ended_at).is_(None))
                .values(ended_at=now)
            )
            row = LiveSessionRow(room_id=room_id, title=title, started_at=now)
            s.add(row)
            await s.commit()
            await s.refresh(row)
            return _session(row, [])

    async def end(self, session_id: int, now: datetime) -> None:
        async with self.db.session() as s:
            await s.execute(update(LiveSessionRow).where(col(LiveSessionRow.id) == session_id).values(ended_at=now))
            await s.execute(
                update(PinRow).where(col(PinRow.session_id) == session_id, col(PinRow.unpinned_at).is_(None))
                .values(unpinned_at=now)
            )
            await s.commit()

    async def _products(self, s: object, session_id: int) -> list[int]:
        rows = await s.execute(  # type: ignore[attr-defined]
            select(col(SessionProductRow.product_id)).where(col(SessionProductRow.session_id) == session_id)
            .order_by(col(SessionProductRow.position), col(SessionProductRow.product_id))
        )
        return list(rows.scalars())

    async def get(self, session_id: int) -> LiveSession | None:
        async with self.db.session() as s:
            row = await s.get(LiveSessionRow, session_id)
            return _session(row, await self._products(s, session_id)) if row else None

    async def current(self, room_id: str) -> LiveSession | None:
        async with self.db.session() as s:
            row = (await s.execute(
                select(LiveSessionRow).where(col(LiveSessionRow.room_id) == room_id, col(LiveSessionRow.ended_at).is_(None))
                .order_by(col(LiveSessionRow.id).desc())
            )).scalars().first()
            if row is None or row.id is None:
                return None
            return _session(row, await self._products(s, row.id))

    async def attach(self, session_id: int, product_ids: list[int]) -> None:
        async with self.db.session() as s:
            have = set(await self._products(s, session_id))
            position = len(have)
            for pid in product_ids:
                if pid not in have:
                    s.add(SessionProductRow(session_id=session_id, product_id=pid, position=position))
                    have.add(pid)
                    position += 1
            await s.commit()

    async def detach(self, session_id: int, product_id: int) -> None:
        async with self.db.session() as s:
            row = await s.get(SessionProductRow, (session_id, product_id))
            if row is not None:
                await s.delete(row)
                await s.commit()

    async def pin(self, session_id: int, product_id: int, now: datetime) -> Pin:
        async with self.db.session() as s:
            await s.execute(
                update(PinRow).where(col(PinRow.session_id) == session_id, col(PinRow.unpinned_at).is_(None))
                .values(unpinned_at=now)
            )
            row = PinRow(session_id=session_id, product_id=product_id, pinned_at=now)
            s.add(row)
            await s.commit()
            await s.refresh(row)
            assert row.id is not None
            return Pin(row.id, session_id, product_id, _aware(row.pinned_at))

    async def unpin(self, session_id: int, now: datetime) -> bool:
        async with self.db.session() as s:
            result = await s.execute(
                update(PinRow).where(col(PinRow.session_id) == session_id, col(PinRow.unpinned_at).is_(None))
                .values(unpinned_at=now)
            )
            await s.commit()
            return bool(result.rowcount)  # type: ignore[attr-defined]

    async def pins(self, session_id: int) -> list[Pin]:
        async with self.db.session() as s:
            rows = (await s.execute(select(PinRow).where(col(PinRow.session_id) == session_id).order_by(col(PinRow.id)))).scalars()
            return [Pin(r.id, r.session_id, r.product_id, _aware(r.pinned_at), _opt(r.unpinned_at)) for r in rows]

    async def rooms_selling(self, product_id: int) -> list[str]:
        """Rooms whose current session has this product on sale."""
        async with self.db.session() as s:
            rows = await s.execute(
                select(col(LiveSessionRow.room_id)).join(SessionProductRow, col(SessionProductRow.session_id) == col(LiveSessionRow.id))
                .where(col(SessionProductRow.product_id) == product_id, col(LiveSessionRow.ended_at).is_(None))
            )
            return sorted(set(rows.scalars()))

    async def current_pin(self, session_id: int) -> Pin | None:
        pins = [p for p in await self.pins(session_id) if p.unpinned_at is None]
        return pins[-1] if pins else None


def _point(row: PickupPointRow) -> PickupPoint:
    assert row.id is not None
    return PickupPoint(row.id, row.community_id, row.name, row.address, row.hours)


class SqlCommunities:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def add(self, community: Community) -> Community:
        row = CommunityRow(name=community.name, leader_name=community.leader_name,
                           leader_phone=community.leader_phone, delivery=community.delivery)
        async with self.db.session() as s:
            s.add(row)
            try:
                await s.commit()
            except IntegrityError as exc:
                raise Conflict(f"a community named {community.name!r} exists already") from exc
            await s.refresh(row)
            assert row.id is not None
            return replace(community, id=row.id)

    async def add_pickup_point(self, point: PickupPoint) -> PickupPoint:
        row = PickupPointRow(community_id=point.community_id, name=point.name, address=point.address, hours=point.hours)
        async with self.db.session() as s:
            s.add(row)
            await s.commit()
            await s.refresh(row)
            return _point(row)

    async def get(self, community_id: int) -> Community | None:
        async with self.db.session() as s:
            row = await s.get(CommunityRow, community_id)
            if row is None:
                return None
            points = (await s.execute(
                select(PickupPointRow).where(col(PickupPointRow.community_id) == community_id).order_by(col(PickupPointRow.id))
            )).scalars()
            return Community(row.id, row.name, row.leader_name, row.leader_phone, row.delivery,
                             tuple(_point(p) for p in points))

    async def list(self) -> list[Community]:
        async with self.db.session() as s:
            rows = list((await s.execute(select(CommunityRow).order_by(col(CommunityRow.id)))).scalars())
            points = list((await s.execute(select(PickupPointRow).order_by(col(PickupPointRow.id)))).scalars())
        return [
            Community(r.id, r.name, r.leader_name, r.leader_phone, r.delivery,
                      tuple(_point(p) for p in points if p.community_id == r.id))
            for r in rows
        ]

    async def pickup_point(self, point_id: int) -> PickupPoint | None:
        async with self.db.session() as s:
            row = await s.get(PickupPointRow, point_id)
            return _point(row) if row else None

    async def set_price(self, price: CommunityPrice) -> None:
        async with self.db.session() as s:
            await s.merge(CommunityPriceRow(community_id=price.community_id, product_id=price.product_id, price_fen=price.price_fen))
            await s.commit()

    async def price(self, community_id: int, product_id: int) -> int | None:
        async with self.db.session() as s:
            row = await s.get(CommunityPriceRow, (community_id, product_id))
            return row.price_fen if row else None


def _pool(row: GroupBuyRow) -> GroupBuy:
    assert row.id is not None
    return GroupBuy(
        id=row.id, session_id=row.session_id, product_id=row.product_id, community_id=row.community_id,
        tiers=tuple(Tier(b, d) for b, d in row.tiers), deadline=_aware(row.deadline),
        failure_rule=FailureRule(row.failure_rule), state=PoolState(row.state), final_buyers=row.final_buyers,
    )


class SqlGroupBuys:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def add(self, pool: GroupBuy) -> GroupBuy:
        row = GroupBuyRow(
            session_id=pool.session_id, product_id=pool.product_id, community_id=pool.community_id,
            tiers=[[t.buyers, t.discount_fen] for t in pool.tiers], deadline=pool.deadline.astimezone(UTC),
            failure_rule=pool.failure_rule.value,
        )
        async with self.db.session() as s:
            s.add(row)
            try:
                await s.commit()
            except IntegrityError as exc:
                raise Conflict("this community already has a group-buy for this product in this session") from exc
            await s.refresh(row)
            return _pool(row)

    async def get(self, pool_id: int) -> GroupBuy | None:
        async with self.db.session() as s:
            row = await s.get(GroupBuyRow, pool_id)
            return _pool(row) if row else None

    async def find(self, session_id: int, product_id: int, community_id: int) -> GroupBuy | None:
        async with self.db.session() as s:
            row = (await s.execute(select(GroupBuyRow).where(
                col(GroupBuyRow.session_id) == session_id, col(GroupBuyRow.product_id) == product_id,
                col(GroupBuyRow.community_id) == community_id,
            ))).scalars().first()
            return _pool(row) if row else None

    async def for_session(self, session_id: int) -> list[GroupBuy]:
        async with self.db.session() as s:
            rows = (await s.execute(select(GroupBuyRow).where(col(GroupBuyRow.session_id) == session_id).order_by(col(GroupBuyRow.id)))).scalars()
            return [_pool(r) for r in rows]

    async def buyers(self, pool_ids: list[int]) -> dict[int, int]:
        if not pool_ids:
            return {}
        async with self.db.session() as s:
            rows = await s.execute(
                select(col(GroupBuyMemberRow.group_buy_id), func.count())
                .where(col(GroupBuyMemberRow.group_buy_id).in_(pool_ids))
                .group_by(col(GroupBuyMemberRow.group_buy_id))
            )
            counts = {pid: 0 for pid in pool_ids}
            counts.update({int(pid): int(n) for pid, n in rows.all()})
            return counts

    async def due(self, now: datetime) -> list[GroupBuy]:
        """Pools whose deadline passed and that are not settled (new, or a settlement cut short)."""
        async with self.db.session() as s:
            rows = (await s.execute(select(GroupBuyRow).where(
                col(GroupBuyRow.state) != PoolState.SETTLED.value,
                col(GroupBuyRow.deadline) <= now,
            ).order_by(col(GroupBuyRow.id)))).scalars()
            return [_pool(r) for r in rows]

    async def begin_settlement(self, pool_id: int) -> GroupBuy:
        """Freeze the buyer count once (the first settler wins); later calls read the frozen value."""
        async with self.db.session() as s:
            count = (await s.execute(
                select(func.count()).select_from(GroupBuyMemberRow).where(col(GroupBuyMemberRow.group_buy_id) == pool_id)
            )).scalar_one()
            await s.execute(
                update(GroupBuyRow).where(col(GroupBuyRow.id) == pool_id, col(GroupBuyRow.state) == PoolState.OPEN.value)
                .values(state=PoolState.SETTLING.value, final_buyers=count)
            )
            await s.commit()
        pool = await self.get(pool_id)
        assert pool is not None
        return pool

    async def mark_settled(self, pool_id: int) -> None:
        async with self.db.session() as s:
            await s.execute(update(GroupBuyRow).where(col(GroupBuyRow.id) == pool_id).values(state=PoolState.SETTLED.value))
            await s.commit()


def _claim(row: FlashClaimRow) -> FlashClaim:
    assert row.id is not None
    return FlashClaim(row.id, row.session_id, row.product_id, row.price_fen, row.quantity, row.per_buyer_limit,
                      _aware(row.starts_at), _aware(row.ends_at), row.remaining)


class SqlFlashClaims:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def add(self, claim: FlashClaim) -> FlashClaim:
        """The claim's units are set aside from the product's stock in the same transaction."""
        async with self.db.session() as s:
            taken = await s.execute(
                update(ProductRow).where(col(ProductRow.id) == claim.product_id, col(ProductRow.stock) >= claim.quantity)
                .values(stock=col(ProductRow.stock) - claim.quantity)
            )
            if not taken.rowcount:  # type: ignore[attr-defined]
                await s.rollback()
                raise Conflict("the product has not enough stock for this claim")
            row = FlashClaimRow(
                session_id=claim.session_id, product_id=claim.product_id, price_fen=claim.price_fen,
                quantity=claim.quantity, per_buyer_limit=claim.per_buyer_limit,
                starts_at=claim.starts_at.astimezone(UTC), ends_at=claim.ends_at.astimezone(UTC), remaining=claim.quantity,
            )
            s.add(row)
            await s.commit()
            await s.refresh(row)
            return _claim(row)

    async def get(self, claim_id: int) -> FlashClaim | None:
        async with self.db.session() as s:
            row = await s.get(FlashClaimRow, claim_id)
            return _claim(row) if row else None

    async def for_session(self, session_id: int) -> list[FlashClaim]:
        async with self.db.session() as s:
            rows = (await s.execute(select(FlashClaimRow).where(col(FlashClaimRow.session_id) == session_id).order_by(col(FlashClaimRow.id)))).scalars()
            return [_claim(r) for r in rows]


class SqlCoupons:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def add(self, coupon: Coupon) -> Coupon:
        async with self.db.session() as s:
            s.add(CouponRow(code=coupon.code, session_id=coupon.session_id, discount_fen=coupon.discount_fen,
                            min_spend_fen=coupon.min_spend_fen, starts_at=coupon.starts_at.astimezone(UTC),
                            ends_at=coupon.ends_at.astimezone(UTC)))
            try:
                await s.commit()
            except IntegrityError as exc:
                raise Conflict(f"coupon {coupon.code} exists already") from exc
            return coupon

    async def get(self, code: str) -> Coupon | None:
        async with self.db.session() as s:
            r = await s.get(CouponRow, code)
            return Coupon(r.code, r.session_id, r.discount_fen, r.min_spend_fen, _aware(r.starts_at), _aware(r.ends_at)) if r else None

    async def used(self, code: str, user_id: int) -> bool:
        async with self.db.session() as s:
            return await s.get(CouponUseRow, (code, user_id)) is not None
