"""Products and batches in SQL."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC

from sqlalchemy import and_, or_, select, update
from sqlalchemy.exc import IntegrityError

from ..domain.errors import Conflict
from ..domain.trace.batches import Batch, ColdChainBand, Product
from .db import Database
from .rooms import _aware
from .trace_tables import TraceBatchRow, TraceProductRow


def _product(row: TraceProductRow) -> Product:
    band = None
    if row.band_quantity and row.band_low is not None and row.band_high is not None:
        band = ColdChainBand(row.band_quantity, row.band_low, row.band_high, row.band_max_minutes or 0.0)
    return Product(row.gtin, row.name, band)


def _batch(row: TraceBatchRow) -> Batch:
    return Batch(
        id=row.id, gtin=row.gtin, lot=row.lot, product_name=row.product_name, farm=row.farm,
        created_at=_aware(row.created_at), flagged=row.flagged, flag_reason=row.flag_reason,
    )


class SqlTraceCatalog:
    def __init__(self, db: Database) -> None:
        self.db = db
        # (gtin, lot) -> id of batches seen: ids never change and batches are never removed, so
        # capture (which needs only the ids) asks the database once per batch, not per event.
        self._ids: dict[tuple[str, str], int] = {}

    async def add_product(self, product: Product) -> Product:
        band = product.band
        row = TraceProductRow(
            gtin=product.gtin, name=product.name,
            band_quantity=band.quantity if band else None, band_low=band.low if band else None,
            band_high=band.high if band else None, band_max_minutes=band.max_minutes_outside if band else None,
        )
        async with self.db.session() as s:
            await s.merge(row)  # re-registering a GTIN updates its name and band
            await s.commit()
        return product

    async def get_product(self, gtin: str) -> Product | None:
        async with self.db.session() as s:
            row = await s.get(TraceProductRow, gtin)
            return _product(row) if row else None

    async def add_batch(self, batch: Batch) -> Batch:
        row = TraceBatchRow(
            gtin=batch.gtin, lot=batch.lot, product_name=batch.product_name, farm=batch.farm,
            created_at=batch.created_at.astimezone(UTC),
        )
        async with self.db.session() as s:
            s.add(row)
            try:
                await s.commit()
            except IntegrityError as exc:
                raise Conflict(f"batch {batch.lot!r} of GTIN {batch.gtin} already exists") from exc
            await s.refresh(row)
            return _batch(row)

    async def get_batch(self, gtin: str, lot: str) -> Batch | None:
        async with self.db.session() as s:
            stmt = select(TraceBatchRow).where(TraceBatchRow.gtin == gtin, TraceBatchRow.lot == lot)
            row = (await s.execute(stmt)).scalars().first()
            return _batch(row) if row else None

    async def get_batch_by_id(self, batch_id: int) -> Batch | None:
        async with self.db.session() as s:
            row = await s.get(TraceBatchRow, batch_id)
            return _batch(row) if row else None

    async def batches(self, keys: Iterable[tuple[str, str]]) -> dict[tuple[str, str], Batch]:
        wanted = list(set(keys))
        out: dict[tuple[str, str], Batch] = {}
        async with self.db.session() as s:
            for i in range(0, len(wanted), 200):
                chunk = wanted[i : i + 200]
                cond = or_(*(and_(TraceBatchRow.gtin == g, TraceBatchRow.lot == lot) for g, lot in chunk))
                for row in (await s.execute(select(TraceBatchRow).where(cond))).scalars():
                    out[(row.gtin, row.lot)] = _batch(row)
        return out

    async def batch_ids(self, keys: Iterable[tuple[str, str]]) -> dict[tuple[str, str], int]:
        wanted = set(keys)
        out = {k: self._ids[k] for k in wanted if k in self._ids}
        missing = wanted - out.keys()
        if missing:
            for key, batch in (await self.batches(missing)).items():
                if batch.id is not None:
                    out[key] = self._ids[key] = batch.id
        return out

    async def list_batches(self, limit: int = 200) -> list[Batch]:
        async with self.db.session() as s:
            stmt = select(TraceBatchRow).order_by(TraceBatchRow.id.desc()).limit(limit)
            return [_batch(r) for r in (await s.execute(stmt)).scalars()]

    async def flag(self, batch_id: int, reason: str) -> None:
        async with self.db.session() as s:
            await s.execute(
                update(TraceBatchRow).where(TraceBatchRow.id == batch_id).values(flagged=True, flag_reason=reason[:300])
            )
            await s.commit()
