"""Orders in SQL: reading, state changes with their timeline, refunds, payments, and the embedded
(no Redis) way of placing an order: stock and order in one transaction.
"""

from __future__ import annotations

import asyncio
import builtins
import contextlib
import logging
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import orjson
from sqlalchemy import func, insert, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession
from sqlmodel import col, select

from ..domain.commerce.errors import (
    ClaimLimitReached,
    CouponUsed,
    IdempotencyKeyReused,
    PaymentMismatch,
    SoldOut,
    UnknownOrder,
)
from ..domain.commerce.group_buy import PlannedRefund
from ..domain.commerce.orders import (
    HOLDS_STOCK,
    RECEIVED,
    Fulfilment,
    Order,
    OrderDraft,
    OrderState,
    PaymentMethod,
    TimelineEntry,
    transition,
)
from ..domain.commerce.payments import PaymentEvent
from ..domain.commerce.ports import ReceivedOrder
from ..domain.commerce.pricing import PriceLine
from .commerce_tables import (
    ClaimTakeRow,
    CouponUseRow,
    FlashClaimRow,
    GroupBuyMemberRow,
    OrderEventRow,
    OrderRow,
    PaymentEventRow,
    ProductRow,
    RefundRow,
    TestProviderRefundRow,
)
from .db import Database
from .utc import aware as _aware

logger = logging.getLogger(__name__)

SOLD_OUT_MEMORY_S = 0.5


def upsert(db: Database, table: Any) -> Any:
    """INSERT with ON CONFLICT support for whichever engine this is."""
    return (sqlite.insert if db.is_sqlite else postgresql.insert)(table)


def _draft(row: OrderRow) -> OrderDraft:
    return OrderDraft(
        user_id=row.user_id, idempotency_key=row.idempotency_key, request_hash=row.request_hash,
        session_id=row.session_id, room_id=row.room_id, product_id=row.product_id,
        product_name_zh=row.product_name_zh, product_name_en=row.product_name_en, quantity=row.quantity,
        unit_base_fen=row.unit_base_fen, unit_price_fen=row.unit_price_fen, total_fen=row.total_fen,
        lines=tuple(PriceLine(**line) for line in row.lines), fulfilment=Fulfilment(row.fulfilment),
        community_id=row.community_id, pickup_point_id=row.pickup_point_id,
        delivery_address=row.delivery_address, contact_name=row.contact_name, contact_phone=row.contact_phone,
        payment_method=PaymentMethod(row.payment_method), group_buy_id=row.group_buy_id,
        claim_id=row.claim_id, coupon_code=row.coupon_code,
    )


def _order(row: OrderRow, events: Sequence[OrderEventRow]) -> Order:
    assert row.id is not None
    timeline = tuple(TimelineEntry(OrderState(e.state), _aware(e.at), e.note) for e in events)
    return Order(row.id, _draft(row), OrderState(row.state), _aware(row.created_at), row.refunded_fen, timeline)


def order_values(draft: OrderDraft, *, now: datetime, stock_applied: bool) -> dict[str, Any]:
    """The orders row as plain values (no model instance: this runs for every order placed)."""
    return {
        "user_id": draft.user_id, "idempotency_key": draft.idempotency_key, "request_hash": draft.request_hash,
        "session_id": draft.session_id, "room_id": draft.room_id, "product_id": draft.product_id,
        "product_name_zh": draft.product_name_zh, "product_name_en": draft.product_name_en, "quantity": draft.quantity,
        "unit_base_fen": draft.unit_base_fen, "unit_price_fen": draft.unit_price_fen, "total_fen": draft.total_fen,
        "lines": [
            {"kind": line.kind, "label_zh": line.label_zh, "label_en": line.label_en, "amount_fen": line.amount_fen}
            for line in draft.lines
        ], "fulfilment": draft.fulfilment.value,
        "community_id": draft.community_id, "pickup_point_id": draft.pickup_point_id,
        "delivery_address": draft.delivery_address, "contact_name": draft.contact_name,
        "contact_phone": draft.contact_phone, "payment_method": draft.payment_method.value,
        "group_buy_id": draft.group_buy_id, "claim_id": draft.claim_id, "coupon_code": draft.coupon_code,
        "state": OrderState.PENDING_PAYMENT.value, "stock_applied": stock_applied, "created_at": now.astimezone(UTC),
    }


def replay(order: Order, draft: OrderDraft) -> Order:
    """A retry gets the first answer; the same key with other content is refused."""
    if order.request_hash != draft.request_hash:
        raise IdempotencyKeyReused("this idempotency key was used for a different order")
    return order


class SqlOrders:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def _load(self, s: AsyncSession, rows: Sequence[OrderRow]) -> list[Order]:
        ids = [r.id for r in rows]
        events: dict[int, list[OrderEventRow]] = {i: [] for i in ids if i is not None}
        if ids:
            for e in (await s.execute(
                select(OrderEventRow).where(col(OrderEventRow.order_id).in_(ids)).order_by(col(OrderEventRow.id))
            )).scalars():
                events[e.order_id].append(e)
        return [_order(r, events[r.id]) for r in rows if r.id is not None]

    async def get(self, order_id: int) -> Order | None:
        async with self.db.session() as s:
            row = await s.get(OrderRow, order_id)
            return (await self._load(s, [row]))[0] if row else None

    async def require(self, order_id: int) -> Order:
        order = await self.get(order_id)
        if order is None:
            raise UnknownOrder(f"no order {order_id}")
        return order

    async def by_key(self, user_id: int, key: str) -> Order | None:
        # Asked on every refused claim in a rush: a bare id lookup first, the order only if found.
        async with self.db.session() as s:
            found = (await s.execute(select(col(OrderRow.id)).where(
                col(OrderRow.user_id) == user_id, col(OrderRow.idempotency_key) == key))).scalar_one_or_none()
            if found is None:
                return None
            row = await s.get(OrderRow, found)
            return (await self._load(s, [row]))[0] if row else None

    async def list(
        self, *, user_id: int | None = None, session_id: int | None = None, community_id: int | None = None,
        pickup_point_id: int | None = None, states: Sequence[OrderState] | None = None,
        claim_id: int | None = None, group_buy_id: int | None = None, limit: int = 10_000,
    ) -> builtins.list[Order]:
        query = select(OrderRow).order_by(col(OrderRow.id)).limit(limit)
        for column, value in ((col(OrderRow.user_id), user_id), (col(OrderRow.session_id), session_id),
                              (col(OrderRow.community_id), community_id), (col(OrderRow.pickup_point_id), pickup_point_id),
                              (col(OrderRow.claim_id), claim_id), (col(OrderRow.group_buy_id), group_buy_id)):
            if value is not None:
                query = query.where(column == value)
        if states is not None:
            query = query.where(col(OrderRow.state).in_([s.value for s in states]))
        async with self.db.session() as s:
            return await self._load(s, list((await s.execute(query)).scalars()))

    async def count(self, **filters: Any) -> int:
        query = select(func.count()).select_from(OrderRow)
        for name, value in filters.items():
            query = query.where(getattr(OrderRow, name) == value)
        async with self.db.session() as s:
            return int((await s.execute(query)).scalar_one())

    async def _write_state(self, s: AsyncSession, row: OrderRow, new: Order, note: str) -> None:
        old_state = row.state
        result = await s.execute(
            update(OrderRow).where(col(OrderRow.id) == row.id, col(OrderRow.state) == old_state)
            .values(state=new.state.value, refunded_fen=new.refunded_fen)
        )
        if not result.rowcount:  # type: ignore[attr-defined]
            raise _Raced()
        s.add(OrderEventRow(order_id=new.id, state=new.state.value, at=new.timeline[-1].at, note=note))

    async def _restore_stock(self, s: AsyncSession, row: OrderRow) -> bool:
        """Units of an order that no longer holds them go back. True: the hot counter must be told."""
        if not row.stock_applied:
            # Taken in Redis but never applied here: applying nothing is giving it back in SQL.
            await s.execute(update(OrderRow).where(col(OrderRow.id) == row.id).values(stock_applied=True))
            return True
        if row.claim_id is not None:
            await s.execute(update(FlashClaimRow).where(col(FlashClaimRow.id) == row.claim_id)
                            .values(remaining=col(FlashClaimRow.remaining) + row.quantity))
            await s.execute(update(ClaimTakeRow).where(col(ClaimTakeRow.claim_id) == row.claim_id, col(ClaimTakeRow.user_id) == row.user_id)
                            .values(taken=col(ClaimTakeRow.taken) - row.quantity))
        else:
            await s.execute(update(ProductRow).where(col(ProductRow.id) == row.product_id)
                            .values(stock=col(ProductRow.stock) + row.quantity))
        return False

    async def _leave_pool(self, s: AsyncSession, row: OrderRow) -> None:
        """A buyer whose last order in a pool is gone no longer counts towards its tiers."""
        if row.group_buy_id is None:
            return
        others = (await s.execute(select(func.count()).select_from(OrderRow).where(
            col(OrderRow.group_buy_id) == row.group_buy_id, col(OrderRow.user_id) == row.user_id, col(OrderRow.id) != row.id,
            col(OrderRow.state).in_([st.value for st in HOLDS_STOCK]),
        ))).scalar_one()
        if not others:
            member = await s.get(GroupBuyMemberRow, (row.group_buy_id, row.user_id))
            if member is not None:
                await s.delete(member)

    async def transition(self, order_id: int, to: OrderState, now: datetime, note: str = "") -> tuple[Order, bool]:
        """Move the order on; returns it and whether a Redis counter must get its units back."""
        for _ in range(5):
            try:
                async with self.db.session() as s, s.begin():
                    row = await s.get(OrderRow, order_id)
                    if row is None:
                        raise UnknownOrder(f"no order {order_id}")
                    order = (await self._load(s, [row]))[0]
                    new = transition(order, to, now, note)
                    await self._write_state(s, row, new, note)
                    release = False
                    if order.state in HOLDS_STOCK and to not in HOLDS_STOCK:
                        release = await self._restore_stock(s, row)
                        await self._leave_pool(s, row)
                return new, release
            except _Raced:
                continue
        raise UnknownOrder(f"order {order_id} keeps changing; try again")

    # -- refunds --------------------------------------------------------------------------------

    async def plan_refunds(self, refunds: builtins.list[PlannedRefund], group_buy_id: int, now: datetime) -> None:
        if not refunds:
            return
        async with self.db.session() as s:
            stmt = upsert(self.db, RefundRow).values([
                {"id": r.refund_id, "order_id": r.order_id, "group_buy_id": group_buy_id, "amount_fen": r.amount_fen,
                 "full": r.full, "done": False, "created_at": now.astimezone(UTC)} for r in refunds
            ]).on_conflict_do_nothing(index_elements=["id"])
            await s.execute(stmt)
            await s.commit()

    async def pending_refunds(self, group_buy_id: int) -> builtins.list[PlannedRefund]:
        async with self.db.session() as s:
            rows = (await s.execute(select(RefundRow).where(
                col(RefundRow.group_buy_id) == group_buy_id, col(RefundRow.done) == False
            ).order_by(col(RefundRow.order_id)))).scalars()
            return [PlannedRefund(r.id, r.order_id, r.amount_fen, r.full) for r in rows]

    async def refunds(self, group_buy_id: int | None = None) -> builtins.list[RefundRow]:
        async with self.db.session() as s:
            query = select(RefundRow).order_by(col(RefundRow.id))
            if group_buy_id is not None:
                query = query.where(col(RefundRow.group_buy_id) == group_buy_id)
            return list((await s.execute(query)).scalars())

    async def complete_refund(self, refund: PlannedRefund, now: datetime) -> tuple[Order | None, bool]:
        """Mark it made and apply it to the order, once: a second call finds it done and does nothing."""
        async with self.db.session() as s, s.begin():
            done = await s.execute(update(RefundRow).where(col(RefundRow.id) == refund.refund_id, col(RefundRow.done) == False)
                                   .values(done=True, done_at=now.astimezone(UTC)))
            if not done.rowcount:  # type: ignore[attr-defined]
                return None, False
            row = await s.get(OrderRow, refund.order_id)
            assert row is not None
            order = (await self._load(s, [row]))[0]
            if order.state not in HOLDS_STOCK:
                return None, False  # cancelled before the pool closed: nothing was kept, nothing is owed
            refunded = row.refunded_fen + refund.amount_fen
            note = f"refund {refund.refund_id}: {refund.amount_fen} fen"
            release = False
            if refund.full:
                to = OrderState.REFUNDED if order.state is not OrderState.PENDING_PAYMENT else OrderState.CANCELLED
                new = transition(order, to, now, note)
                release = await self._restore_stock(s, row)
            elif order.state is OrderState.PAID:
                new = transition(order, OrderState.PARTIALLY_REFUNDED, now, note)
            else:
                # Unpaid (pay at pickup) or already on its way: the state stays, the amount due drops.
                new = Order(order.id, order.draft, order.state, order.created_at, refunded,
                            (*order.timeline, TimelineEntry(order.state, now, note)))
            new = Order(new.id, new.draft, new.state, new.created_at, refunded, new.timeline)
            await s.execute(update(OrderRow).where(col(OrderRow.id) == row.id).values(state=new.state.value, refunded_fen=refunded))
            s.add(OrderEventRow(order_id=new.id, state=new.state.value, at=now, note=note))
            return new, release

    # -- payments -------------------------------------------------------------------------------

    async def record_payment(self, event: PaymentEvent, provider: str, now: datetime) -> tuple[Order, bool]:
        """Apply a verified payment once; a redelivered event returns the order unchanged (False)."""
        async with self.db.session() as s, s.begin():
            row = await s.get(OrderRow, event.order_id)
            if row is None:
                raise UnknownOrder(f"no order {event.order_id}")
            if row.payment_method != provider:
                # A provider vouches only for its own orders: the test provider's signature says
                # nothing about a pay-at-pickup order (its money changes hands at the pickup point).
                raise PaymentMismatch(f"order {event.order_id} is paid by {row.payment_method}, not {provider}")
            inserted = await s.execute(upsert(self.db, PaymentEventRow).values(
                event_id=event.event_id, provider=provider, order_id=event.order_id,
                amount_fen=event.amount_fen, received_at=now.astimezone(UTC),
            ).on_conflict_do_nothing(index_elements=["event_id"]))
            order = (await self._load(s, [row]))[0]
            if not inserted.rowcount:  # type: ignore[attr-defined]
                return order, False
            due = row.total_fen - row.refunded_fen
            if event.amount_fen != due:
                raise PaymentMismatch(f"paid {event.amount_fen} fen but {due} fen is due")
            new = transition(order, OrderState.PAID, now, f"{provider} {event.event_id}")
            await self._write_state(s, row, new, f"{provider} {event.event_id}")
            return new, True

    # -- stock taken in Redis, applied here in batches --------------------------------------------

    async def apply_stock(self, batch: int = 500) -> int:
        """Subtract Redis-taken units from products.stock / flash_claims.remaining, once each."""
        async with self.db.session() as s, s.begin():
            # The columns, not ORM objects: during a rush this reads hundreds of orders twice a second.
            query = (
                select(*_TAKE_COLUMNS).where(col(OrderRow.stock_applied) == False).order_by(col(OrderRow.id)).limit(batch)
            )
            if not self.db.is_sqlite:
                query = query.with_for_update(skip_locked=True)
            rows = list((await s.execute(query)).all())
            if not rows:
                return 0
            by_product: dict[int, int] = {}
            by_claim: dict[int, int] = {}
            takes: dict[tuple[int, int], int] = {}
            for r in rows:
                if r.claim_id is not None:
                    by_claim[r.claim_id] = by_claim.get(r.claim_id, 0) + r.quantity
                    takes[(r.claim_id, r.user_id)] = takes.get((r.claim_id, r.user_id), 0) + r.quantity
                else:
                    by_product[r.product_id] = by_product.get(r.product_id, 0) + r.quantity
            for pid, n in by_product.items():
                await s.execute(update(ProductRow).where(col(ProductRow.id) == pid).values(stock=col(ProductRow.stock) - n))
            for cid, n in by_claim.items():
                await s.execute(update(FlashClaimRow).where(col(FlashClaimRow.id) == cid).values(remaining=col(FlashClaimRow.remaining) - n))
            if takes:
                # One statement for every buyer of the batch (executemany), not one each.
                stmt = upsert(self.db, ClaimTakeRow)
                stmt = stmt.on_conflict_do_update(
                    index_elements=["claim_id", "user_id"],
                    set_={"taken": ClaimTakeRow.__table__.c.taken + stmt.excluded.taken})  # type: ignore[attr-defined]
                await s.execute(stmt, [{"claim_id": cid, "user_id": uid, "taken": n} for (cid, uid), n in takes.items()])
            await s.execute(update(OrderRow).where(col(OrderRow.id).in_([r.id for r in rows])).values(stock_applied=True))
            return len(rows)

    async def unapplied(self) -> tuple[dict[int, int], dict[int, int], dict[tuple[int, int], int]]:
        """Units taken in Redis not yet applied here: per product, per claim, per (claim, buyer)."""
        async with self.db.session() as s:
            rows = list((await s.execute(select(*_TAKE_COLUMNS).where(col(OrderRow.stock_applied) == False))).all())
        products: dict[int, int] = {}
        claims: dict[int, int] = {}
        takes: dict[tuple[int, int], int] = {}
        for r in rows:
            if r.claim_id is not None:
                claims[r.claim_id] = claims.get(r.claim_id, 0) + r.quantity
                takes[(r.claim_id, r.user_id)] = takes.get((r.claim_id, r.user_id), 0) + r.quantity
            else:
                products[r.product_id] = products.get(r.product_id, 0) + r.quantity
        return products, claims, takes


_TAKE_COLUMNS = (col(OrderRow.id), col(OrderRow.claim_id), col(OrderRow.user_id), col(OrderRow.product_id), col(OrderRow.quantity))


class _Raced(Exception):
    """Someone else moved the order between our read and our write: read again."""


# Core statements built once: their compiled form is cached, only the parameters change.
_ORDER_TABLE = OrderRow.__table__  # type: ignore[attr-defined]
_INSERT_ORDER = insert(_ORDER_TABLE).returning(_ORDER_TABLE.c.id)
_INSERT_EVENT = insert(OrderEventRow.__table__)  # type: ignore[attr-defined]


async def insert_order(db: Database, s: AsyncSession | AsyncConnection, draft: OrderDraft, *, now: datetime, stock_applied: bool) -> Order:
    """The order's rows (order, first timeline entry, coupon use, group-buy membership), inside `s`.

    Plain INSERT ... RETURNING, and the new order built here rather than read back: in a flash
    claim every winner passes through this, so each statement saved counts.
    """
    if draft.coupon_code is not None:
        used = await s.execute(upsert(db, CouponUseRow).values(code=draft.coupon_code, user_id=draft.user_id)
                               .on_conflict_do_nothing(index_elements=["code", "user_id"]))
        if not used.rowcount:  # type: ignore[attr-defined]
            raise CouponUsed("you have used this coupon already")
    if draft.group_buy_id is not None:
        await s.execute(upsert(db, GroupBuyMemberRow).values(group_buy_id=draft.group_buy_id, user_id=draft.user_id)
                        .on_conflict_do_nothing(index_elements=["group_buy_id", "user_id"]))
    values = order_values(draft, now=now, stock_applied=stock_applied)
    order_id = (await s.execute(_INSERT_ORDER, values)).scalar_one()
    await s.execute(_INSERT_EVENT, {"order_id": order_id, "state": values["state"], "at": values["created_at"], "note": ""})
    if draft.coupon_code is not None:
        await s.execute(update(CouponUseRow).where(col(CouponUseRow.code) == draft.coupon_code, col(CouponUseRow.user_id) == draft.user_id)
                        .values(order_id=order_id))
    state = OrderState.PENDING_PAYMENT
    return Order(int(order_id), draft, state, now, 0, (TimelineEntry(state, now),))


_INSERT_ORDERS = insert(_ORDER_TABLE).returning(_ORDER_TABLE.c.id, sort_by_parameter_order=True)


async def insert_orders(conn: AsyncConnection, drafts: builtins.list[OrderDraft], *, now: datetime, stock_applied: bool) -> builtins.list[Order]:
    """Many orders without coupons or group-buys at once (a flash claim's winners), each with the
    first entry of its timeline."""
    if conn.dialect.name == "postgresql" and conn.dialect.driver == "asyncpg":
        raw = (await conn.get_raw_connection()).driver_connection
        assert raw is not None
        ids = await _insert_orders_pg(raw, drafts, now=now, stock_applied=stock_applied)
    else:
        rows = [order_values(d, now=now, stock_applied=stock_applied) for d in drafts]
        ids = [int(i) for i in (await conn.execute(_INSERT_ORDERS, rows)).scalars()]
        at = now.astimezone(UTC)
        await conn.execute(_INSERT_EVENT, [{"order_id": i, "state": OrderState.PENDING_PAYMENT.value, "at": at, "note": ""} for i in ids])
    state = OrderState.PENDING_PAYMENT
    return [Order(i, d, state, now, 0, (TimelineEntry(state, now),)) for i, d in zip(ids, drafts, strict=True)]


# The columns filled from each draft, with their PostgreSQL array types.
_PG_ORDER_COLUMNS = (
    ("user_id", "int"), ("idempotency_key", "text"), ("request_hash", "text"), ("session_id", "int"),
    ("room_id", "text"), ("product_id", "int"), ("product_name_zh", "text"), ("product_name_en", "text"),
    ("quantity", "int"), ("unit_base_fen", "int"), ("unit_price_fen", "int"), ("total_fen", "int"),
    ("lines", "text"), ("fulfilment", "text"), ("community_id", "int"), ("pickup_point_id", "int"),
    ("delivery_address", "text"), ("contact_name", "text"), ("contact_phone", "text"),
    ("payment_method", "text"), ("group_buy_id", "int"), ("claim_id", "int"), ("coupon_code", "text"),
)
_N = len(_PG_ORDER_COLUMNS)
# One statement, the same text whatever the batch size: the orders from one array per column
# (unnest), their timeline entries from what the INSERT returns, in one round trip. A multi-row
# VALUES list instead is a new statement for every batch size, so PostgreSQL parses and plans
# it again and the driver's statement cache churns.
_PG_INSERT_ORDERS = f"""
WITH new AS (
  INSERT INTO orders ({", ".join(name for name, _ in _PG_ORDER_COLUMNS)}, state, refunded_fen, stock_applied, created_at)
  SELECT {", ".join(f"t.{name}::json" if name == "lines" else f"t.{name}" for name, _ in _PG_ORDER_COLUMNS)},
         ${_N + 1}, 0, ${_N + 2}, ${_N + 3}
  FROM unnest({", ".join(f"${i + 1}::{kind}[]" for i, (_, kind) in enumerate(_PG_ORDER_COLUMNS))})
       AS t({", ".join(name for name, _ in _PG_ORDER_COLUMNS)})
  RETURNING id, user_id, idempotency_key
), timeline AS (
  INSERT INTO order_events (order_id, state, at, note) SELECT id, ${_N + 1}, ${_N + 3}, '' FROM new
)
SELECT id, user_id, idempotency_key FROM new
"""


async def _insert_orders_pg(raw: Any, drafts: builtins.list[OrderDraft], *, now: datetime, stock_applied: bool) -> builtins.list[int]:
    # The same row values as every other order write (order_values), one array per column.
    rows_values = [order_values(d, now=now, stock_applied=stock_applied) for d in drafts]
    columns = [
        [orjson.dumps(v["lines"]).decode() for v in rows_values] if name == "lines" else [v[name] for v in rows_values]
        for name, _ in _PG_ORDER_COLUMNS
    ]
    rows = await raw.fetch(_PG_INSERT_ORDERS, *columns, OrderState.PENDING_PAYMENT.value, stock_applied, now.astimezone(UTC))
    # RETURNING's order is not promised: each order is found by its (buyer, key), unique per order.
    ids = {(r["user_id"], r["idempotency_key"]): int(r["id"]) for r in rows}
    return [ids[(d.user_id, d.idempotency_key)] for d in drafts]


class SqlOrderPlacement:
    """The embedded mode: units and order in ONE transaction, so either both happen or neither."""

    def __init__(self, db: Database, orders: SqlOrders, clock: Any) -> None:
        self.db = db
        self.orders = orders
        self.clock = clock
        # claim id -> until when (monotonic) this node answers "sold out" without a query. Units
        # given back by a cancellation show up after this long at most.
        self._sold_out: dict[int, float] = {}
        # SQLite has one writer at a time anyway: queueing writers here, rather than in SQLite's
        # busy handler, keeps a burst of buyers from timing out on "database is locked".
        self._writer = asyncio.Lock() if db.is_sqlite else contextlib.nullcontext()

    async def place(self, draft: OrderDraft) -> tuple[Order, bool]:
        try:
            if draft.claim_id is not None:
                await self._fast_sold_out(draft)
            return await self._place(draft)
        except (ClaimLimitReached, SoldOut, CouponUsed):
            # A request with this key may have won before (a retry) or at the same moment (a
            # twin whose unit now counts against the limit): then answer as it did.
            existing = await self.orders.by_key(draft.user_id, draft.idempotency_key)
            if existing is None:
                raise
            return replay(existing, draft), False

    async def _place(self, draft: OrderDraft) -> tuple[Order, bool]:
        existing = await self.orders.by_key(draft.user_id, draft.idempotency_key)
        if existing is not None:
            return replay(existing, draft), False
        try:
            # A Core connection, not an ORM session: every buyer in a rush passes through here.
            async with self._writer, self.db.engine.begin() as s:
                await self._take(s, draft)
                order = await insert_order(self.db, s, draft, now=self.clock(), stock_applied=True)
        except IntegrityError:
            # Only the idempotency key can collide here: a concurrent twin won; answer as it did.
            existing = await self.orders.by_key(draft.user_id, draft.idempotency_key)
            if existing is None:
                raise
            return replay(existing, draft), False
        return order, True

    async def release(self, order: Order) -> None:
        return None  # SQL already gave the units back in the cancelling transaction

    async def _fast_sold_out(self, draft: OrderDraft) -> None:
        # Once a claim is gone, the thousands still trying need no write lock (and, for a
        # moment, not even a read).
        assert draft.claim_id is not None
        if self._sold_out.get(draft.claim_id, 0.0) > time.monotonic():
            raise SoldOut("all gone: every unit of this flash claim has been claimed")
        async with self.db.session() as s:
            remaining = (await s.execute(select(col(FlashClaimRow.remaining)).where(col(FlashClaimRow.id) == draft.claim_id))).scalar_one_or_none()
        if remaining is not None and remaining < draft.quantity:
            if remaining == 0:
                self._sold_out[draft.claim_id] = time.monotonic() + SOLD_OUT_MEMORY_S
            raise SoldOut("all gone: every unit of this flash claim has been claimed")

    async def _take(self, s: AsyncSession | AsyncConnection, draft: OrderDraft) -> None:
        if draft.claim_id is not None:
            if draft.quantity > draft.claim_limit:
                raise ClaimLimitReached(f"at most {draft.claim_limit} per buyer")
            table = ClaimTakeRow.__table__  # type: ignore[attr-defined]
            took = await s.execute(
                upsert(self.db, ClaimTakeRow).values(claim_id=draft.claim_id, user_id=draft.user_id, taken=draft.quantity)
                .on_conflict_do_update(
                    index_elements=["claim_id", "user_id"], set_={"taken": table.c.taken + draft.quantity},
                    where=table.c.taken + draft.quantity <= draft.claim_limit,
                ).returning(table.c.taken)
            )
            if took.first() is None:
                raise ClaimLimitReached(f"at most {draft.claim_limit} per buyer: you have claimed yours")
            left = await s.execute(
                update(FlashClaimRow).where(col(FlashClaimRow.id) == draft.claim_id, col(FlashClaimRow.remaining) >= draft.quantity)
                .values(remaining=col(FlashClaimRow.remaining) - draft.quantity)
            )
            if not left.rowcount:  # type: ignore[attr-defined]
                raise SoldOut("all gone: every unit of this flash claim has been claimed")
        else:
            left = await s.execute(
                update(ProductRow).where(col(ProductRow.id) == draft.product_id, col(ProductRow.stock) >= draft.quantity)
                .values(stock=col(ProductRow.stock) - draft.quantity)
            )
            if not left.rowcount:  # type: ignore[attr-defined]
                raise SoldOut("sold out: not enough stock for that quantity")


class SqlOrderLookup:
    """For verified-buyer reviews: an order of that user that they have received."""

    def __init__(self, orders: SqlOrders) -> None:
        self.orders = orders

    async def received_order(self, user_id: int, order_id: int) -> ReceivedOrder | None:
        order = await self.orders.get(order_id)
        if order is None or order.user_id != user_id or order.state not in RECEIVED:
            return None
        received = order.received_at
        assert received is not None
        names = tuple(n for n in (order.product_name_zh,) if n)
        return ReceivedOrder(order.id, names, received, order.room_id)


class SqlTestProviderLedger:
    """The test payment provider's side: money it sent back, one row per refund id."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def send(self, refund_id: str, order_id: int, amount_fen: int, now: datetime) -> bool:
        async with self.db.session() as s:
            result = await s.execute(upsert(self.db, TestProviderRefundRow).values(
                refund_id=refund_id, order_id=order_id, amount_fen=amount_fen, at=now.astimezone(UTC),
            ).on_conflict_do_nothing(index_elements=["refund_id"]))
            await s.commit()
            return bool(result.rowcount)  # type: ignore[attr-defined]

    async def all(self) -> list[TestProviderRefundRow]:
        async with self.db.session() as s:
            return list((await s.execute(select(TestProviderRefundRow).order_by(col(TestProviderRefundRow.refund_id)))).scalars())
