"""Sensor devices, readings (raw + 5-minute rollups), device-batch links and room overlay choices in SQL."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import case, delete, insert, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError

from ..domain.errors import Conflict
from ..domain.sensors.devices import Device
from ..domain.sensors.readings import Reading, bucket_of
from .db import Database
from .rooms import _aware
from .trace_tables import (
    RoomTraceOverlayRow,
    SensorDeviceRow,
    SensorLinkRow,
    SensorReadingRow,
    SensorRollupRow,
)

_COLUMNS = {"temperature": "t", "humidity": "h", "soil_moisture": "m"}


@dataclass(frozen=True)
class Link:
    batch_id: int
    device_id: str
    since: datetime
    until: datetime | None


@dataclass(frozen=True)
class RoomOverlay:
    room_id: str
    devices: tuple[str, ...]
    gtin: str
    lot: str


def _device(row: SensorDeviceRow) -> Device:
    return Device(row.id, row.name, row.kind, row.token_hash, _aware(row.created_at), row.revoked, row.simulated)


_READINGS = SensorReadingRow.__table__  # type: ignore[attr-defined]
_ROLLUPS = SensorRollupRow.__table__  # type: ignore[attr-defined]
_EMPTY_BUCKET: dict[str, Any] = {"n": 0, **{f"{c}_{f}": (0 if f == "n" else 0.0 if f == "sum" else None)
                                            for c in _COLUMNS.values() for f in ("n", "min", "max", "sum")}}


class SqlSensorStore:
    def __init__(self, db: Database) -> None:
        self.db = db
        self._upsert_stmt: Any = None

    # -- devices --------------------------------------------------------------------------------

    async def add_device(self, device: Device) -> Device:
        async with self.db.session() as s:
            s.add(SensorDeviceRow(id=device.id, name=device.name, kind=device.kind, token_hash=device.token_hash,
                                  revoked=device.revoked, simulated=device.simulated,
                                  created_at=device.created_at.astimezone(UTC)))
            try:
                await s.commit()
            except IntegrityError as exc:
                raise Conflict(f"device {device.id!r} already exists") from exc
        return device

    async def devices(self) -> dict[str, Device]:
        async with self.db.session() as s:
            return {r.id: _device(r) for r in (await s.execute(select(SensorDeviceRow))).scalars()}

    async def revoke(self, device_id: str) -> bool:
        async with self.db.session() as s:
            result = await s.execute(update(SensorDeviceRow).where(SensorDeviceRow.id == device_id).values(revoked=True))
            await s.commit()
            return bool(result.rowcount)

    # -- readings -------------------------------------------------------------------------------

    async def store(self, readings: list[Reading]) -> None:
        """Raw rows and their buckets, in one transaction (Core statements: this is the hot path)."""
        if not readings:
            return
        raw = []
        buckets: dict[tuple[str, datetime], dict[str, Any]] = {}
        for r in readings:
            values = r.values
            raw.append({"device_id": r.device_id, "at": r.at, "temperature": values.get("temperature"),
                        "humidity": values.get("humidity"), "soil_moisture": values.get("soil_moisture")})
            key = (r.device_id, bucket_of(r.at))
            b = buckets.get(key)
            if b is None:
                b = buckets[key] = dict(_EMPTY_BUCKET, device_id=key[0], bucket=key[1])
            b["n"] += 1
            for name, value in values.items():
                c = _COLUMNS[name]
                b[c + "_n"] += 1
                b[c + "_sum"] += value
                lo, hi = b[c + "_min"], b[c + "_max"]
                if lo is None or value < lo:
                    b[c + "_min"] = value
                if hi is None or value > hi:
                    b[c + "_max"] = value
        async with self.db.engine.begin() as conn:
            await conn.execute(insert(_READINGS), raw)
            await conn.execute(self._upsert, list(buckets.values()))

    @property
    def _upsert(self) -> Any:
        if self._upsert_stmt is None:
            make = sqlite_insert if self.db.is_sqlite else pg_insert
            stmt = make(_ROLLUPS)
            t = _ROLLUPS.c
            ex = stmt.excluded
            merged: dict[str, Any] = {"n": t.n + ex.n}
            for c in _COLUMNS.values():
                merged[f"{c}_n"] = t[f"{c}_n"] + ex[f"{c}_n"]
                merged[f"{c}_sum"] = t[f"{c}_sum"] + ex[f"{c}_sum"]
                lo, hi, elo, ehi = t[f"{c}_min"], t[f"{c}_max"], ex[f"{c}_min"], ex[f"{c}_max"]
                merged[f"{c}_min"] = case((elo.is_(None), lo), (lo.is_(None), elo), (elo < lo, elo), else_=lo)
                merged[f"{c}_max"] = case((ehi.is_(None), hi), (hi.is_(None), ehi), (ehi > hi, ehi), else_=hi)
            self._upsert_stmt = stmt.on_conflict_do_update(index_elements=["device_id", "bucket"], set_=merged)
        return self._upsert_stmt

    async def latest(self, device_ids: Iterable[str]) -> dict[str, Reading]:
        out: dict[str, Reading] = {}
        async with self.db.session() as s:
            for device_id in set(device_ids):
                stmt = (select(SensorReadingRow).where(SensorReadingRow.device_id == device_id)
                        .order_by(SensorReadingRow.at.desc()).limit(1))
                row = (await s.execute(stmt)).scalars().first()
                if row is not None:
                    values = {k: getattr(row, k) for k in _COLUMNS if getattr(row, k) is not None}
                    out[device_id] = Reading(device_id, _aware(row.at), values)
        return out

    async def count(self, device_id: str | None = None) -> int:
        from sqlalchemy import func

        async with self.db.session() as s:
            stmt = select(func.count()).select_from(SensorReadingRow)
            if device_id is not None:
                stmt = stmt.where(SensorReadingRow.device_id == device_id)
            return int((await s.execute(stmt)).scalar() or 0)

    async def raw(self, device_id: str, since: datetime, until: datetime, limit: int = 5000) -> list[Reading]:
        async with self.db.session() as s:
            stmt = (select(SensorReadingRow).where(SensorReadingRow.device_id == device_id,
                                                   SensorReadingRow.at >= since, SensorReadingRow.at <= until)
                    .order_by(SensorReadingRow.at).limit(limit))
            return [Reading(device_id, _aware(r.at), {k: getattr(r, k) for k in _COLUMNS if getattr(r, k) is not None})
                    for r in (await s.execute(stmt)).scalars()]

    async def rollups(self, device_id: str, since: datetime, until: datetime) -> list[tuple[datetime, dict[str, tuple[float, float, float]]]]:
        """(bucket start, {quantity: (min, mean, max)}) in time order."""
        async with self.db.session() as s:
            stmt = (select(SensorRollupRow).where(SensorRollupRow.device_id == device_id,
                                                  SensorRollupRow.bucket >= bucket_of(since), SensorRollupRow.bucket <= until)
                    .order_by(SensorRollupRow.bucket))
            out = []
            for r in (await s.execute(stmt)).scalars():
                values = {}
                for name, c in _COLUMNS.items():
                    n = getattr(r, f"{c}_n")
                    if n:
                        values[name] = (getattr(r, f"{c}_min"), getattr(r, f"{c}_sum") / n, getattr(r, f"{c}_max"))
                out.append((_aware(r.bucket), values))
            return out

    async def prune(self, before: datetime) -> int:
        async with self.db.session() as s:
            result = await s.execute(delete(SensorReadingRow).where(SensorReadingRow.at < before))
            await s.commit()
            return int(result.rowcount or 0)

    # -- links ----------------------------------------------------------------------------------

    async def link(self, batch_id: int, device_id: str, since: datetime) -> None:
        async with self.db.session() as s:
            s.add(SensorLinkRow(batch_id=batch_id, device_id=device_id, since=since.astimezone(UTC)))
            await s.commit()

    async def unlink(self, batch_id: int, device_id: str, until: datetime) -> None:
        async with self.db.session() as s:
            await s.execute(update(SensorLinkRow).where(
                SensorLinkRow.batch_id == batch_id, SensorLinkRow.device_id == device_id, SensorLinkRow.until.is_(None)
            ).values(until=until.astimezone(UTC)))
            await s.commit()

    async def links(self, *, batch_id: int | None = None) -> list[Link]:
        async with self.db.session() as s:
            stmt = select(SensorLinkRow)
            if batch_id is not None:
                stmt = stmt.where(SensorLinkRow.batch_id == batch_id)
            return [Link(r.batch_id, r.device_id, _aware(r.since), _aware(r.until) if r.until else None)
                    for r in (await s.execute(stmt.order_by(SensorLinkRow.id))).scalars()]

    async def active_links_by_device(self) -> dict[str, list[Link]]:
        out: dict[str, list[Link]] = defaultdict(list)
        for link in await self.links():
            if link.until is None:
                out[link.device_id].append(link)
        return dict(out)

    # -- room overlays --------------------------------------------------------------------------

    async def set_overlay(self, overlay: RoomOverlay) -> None:
        async with self.db.session() as s:
            await s.merge(RoomTraceOverlayRow(room_id=overlay.room_id, devices=",".join(overlay.devices),
                                              gtin=overlay.gtin, lot=overlay.lot))
            await s.commit()

    async def overlays(self) -> dict[str, RoomOverlay]:
        async with self.db.session() as s:
            rows = (await s.execute(select(RoomTraceOverlayRow))).scalars()
            return {r.room_id: RoomOverlay(r.room_id, tuple(d for d in r.devices.split(",") if d), r.gtin, r.lot)
                    for r in rows}
