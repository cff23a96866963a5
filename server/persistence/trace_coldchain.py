"""Cold-chain state in SQL: excursions per batch and device, buyer notices, the compensation
policy, and which orders hold a batch (read from the commerce feature's orders)."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError, IntegrityError

from ..domain.sensors.anomalies import DEFAULT_POLICY, AffectedOrder, CompensationPolicy, Notice
from ..domain.sensors.thresholds import Excursion
from ..domain.trace.batches import Batch
from .db import Database
from .rooms import _aware
from .trace_tables import (
    ColdChainExcursionRow,
    ColdChainNoticeRow,
    ColdChainPolicyRow,
    TraceBatchRow,
)

logger = logging.getLogger(__name__)


def _excursion(row: ColdChainExcursionRow) -> Excursion:
    return Excursion(row.batch_id, row.device_id, row.minutes_outside, _aware(row.last_at) if row.last_at else None,
                     row.last_value, row.last_outside, _aware(row.breached_at) if row.breached_at else None)


def _notice(row: ColdChainNoticeRow) -> Notice:
    return Notice(row.id, row.batch_id, row.order_id, row.user_id, row.event_id, row.message_zh, row.message_en,
                  row.offer_zh, row.offer_en, _aware(row.created_at))


class SqlColdChainStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def excursions(self) -> dict[tuple[int, str], Excursion]:
        async with self.db.session() as s:
            return {(r.batch_id, r.device_id): _excursion(r) for r in (await s.execute(select(ColdChainExcursionRow))).scalars()}

    async def save_excursions(self, states: list[Excursion]) -> None:
        async with self.db.session() as s:
            for e in states:
                await s.merge(ColdChainExcursionRow(
                    batch_id=e.batch_id, device_id=e.device_id, minutes_outside=e.minutes_outside,
                    last_at=e.last_at, last_value=e.last_value, last_outside=e.last_outside, breached_at=e.breached_at,
                ))
            await s.commit()

    async def add_notices(self, notices: list[Notice]) -> list[Notice]:
        """Stores each notice once per order and breach event; returns the ones that are new."""
        out = []
        async with self.db.session() as s:
            for n in notices:
                row = ColdChainNoticeRow(
                    batch_id=n.batch_id, order_id=n.order_id, user_id=n.user_id, event_id=n.event_id,
                    message_zh=n.message_zh[:300], message_en=n.message_en[:300], offer_zh=n.offer_zh[:200],
                    offer_en=n.offer_en[:200], created_at=n.created_at.astimezone(UTC),
                )
                s.add(row)
                try:
                    await s.commit()
                except IntegrityError:
                    await s.rollback()
                    continue
                await s.refresh(row)
                out.append(_notice(row))
        return out

    async def notices_for_user(self, user_id: int) -> list[Notice]:
        async with self.db.session() as s:
            stmt = select(ColdChainNoticeRow).where(ColdChainNoticeRow.user_id == user_id).order_by(ColdChainNoticeRow.id.desc())
            return [_notice(r) for r in (await s.execute(stmt)).scalars()]

    async def notices(self, limit: int = 500) -> list[tuple[Notice, Batch | None]]:
        async with self.db.session() as s:
            stmt = select(ColdChainNoticeRow).order_by(ColdChainNoticeRow.id.desc()).limit(limit)
            out = []
            for r in (await s.execute(stmt)).scalars():
                b = await s.get(TraceBatchRow, r.batch_id)
                batch = Batch(b.id, b.gtin, b.lot, b.product_name, b.farm, _aware(b.created_at), b.flagged, b.flag_reason) if b else None
                out.append((_notice(r), batch))
            return out

    async def policy(self) -> CompensationPolicy:
        async with self.db.session() as s:
            row = await s.get(ColdChainPolicyRow, 1)
            return CompensationPolicy(row.kind, row.amount) if row else DEFAULT_POLICY

    async def set_policy(self, policy: CompensationPolicy) -> None:
        async with self.db.session() as s:
            await s.merge(ColdChainPolicyRow(id=1, kind=policy.kind, amount=policy.amount))
            await s.commit()


class SqlBatchOrders:
    """Orders holding a batch: orders of the batch's product (same GTIN) placed from the batch's
    registration until the next batch of that product was registered (lots sell first in, first
    out), and not cancelled. Reads the commerce feature's `orders` and `products` tables."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def orders_holding(self, batch: Batch) -> list[AffectedOrder]:
        async with self.db.session() as s:
            nxt = await s.execute(
                select(TraceBatchRow.created_at).where(TraceBatchRow.gtin == batch.gtin,
                                                        TraceBatchRow.created_at > batch.created_at.astimezone(UTC))
                .order_by(TraceBatchRow.created_at).limit(1)
            )
            until = nxt.scalar()
            sql = (
                "SELECT o.id, o.user_id FROM orders o JOIN products p ON p.id = o.product_id"
                " WHERE p.gtin = :gtin AND o.created_at >= :since"
                " AND o.state NOT IN ('cancelled', 'refunded')"
            )
            params: dict[str, object] = {"gtin": batch.gtin, "since": batch.created_at.astimezone(UTC)}
            if until is not None:
                sql += " AND o.created_at < :until"
                params["until"] = until
            try:
                rows = await s.execute(text(sql + " ORDER BY o.id"), params)
            except DBAPIError:
                logger.exception("cannot read orders for batch %s/%s", batch.gtin, batch.lot)
                return []
            return [AffectedOrder(int(r[0]), int(r[1])) for r in rows]


def now() -> datetime:
    return datetime.now(UTC)
