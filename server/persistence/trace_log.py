"""The Merkle log in SQL: events, complete-subtree hashes and signed checkpoints, insert-only."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime

from sqlalchemy import func, insert, select

from ..domain.trace import merkle
from ..domain.trace.checkpoints import Checkpoint
from ..domain.trace.epcis import PreparedEvent
from ..domain.trace.ports import LoggedEvent, Signer
from .db import Database
from .rooms import _aware
from .trace_tables import (
    TraceCheckpointRow,
    TraceEventBatchRow,
    TraceEventRow,
    TraceHeadRow,
    TraceNodeRow,
)

_LEVEL_SHIFT = 48
_CHUNK = 500  # rows per IN (...) list: well under SQLite's and asyncpg's parameter limits


def node_id(key: merkle.Key) -> int:
    level, index = key
    return level << _LEVEL_SHIFT | index


def node_key(value: int) -> merkle.Key:
    return value >> _LEVEL_SHIFT, value & ((1 << _LEVEL_SHIFT) - 1)


def _logged(row: TraceEventRow) -> LoggedEvent:
    return LoggedEvent(
        seq=row.seq,
        event_hash=row.event_hash,
        body=row.body,
        event_type=row.event_type,
        biz_step=row.biz_step,
        event_time=_aware(row.event_time),
        declares_error=row.declares_error,
    )


def _checkpoint(row: TraceCheckpointRow) -> Checkpoint:
    origin = row.note.split("\n", 1)[0]
    return Checkpoint(origin, row.size, row.root, row.note, _aware(row.signed_at))


def _chunks(values: list[int]) -> Iterable[list[int]]:
    for i in range(0, len(values), _CHUNK):
        yield values[i : i + _CHUNK]


# Complete-subtree hashes never change once written, so the upper levels (1/128 of the nodes)
# are kept in memory after their first read; a proof then reads only its bottom levels.
_CACHED_LEVEL = 7


class SqlTraceLog:
    def __init__(self, db: Database) -> None:
        self.db = db
        self._upper: dict[int, bytes] = {}

    async def append(
        self, events: list[PreparedEvent], batch_ids: list[list[int]], sign: Signer
    ) -> tuple[list[LoggedEvent], Checkpoint]:
        async with self.db.session() as s, s.begin():
            stmt = select(TraceHeadRow).where(TraceHeadRow.id == 1)
            if not self.db.is_sqlite:
                stmt = stmt.with_for_update()  # the nodes of a cluster take turns here
            head = (await s.execute(stmt)).scalars().first()
            if head is None:
                head = TraceHeadRow(id=1, size=0)
                s.add(head)
                await s.flush()
            size = head.size
            frontier = await self._nodes(s, merkle.frontier(size))
            leaves = [merkle.leaf_hash(e.body.encode()) for e in events]
            new = merkle.append(size, frontier, leaves)
            rows = [
                {
                    "seq": size + i, "event_hash": e.event_hash, "declares_error": e.declares_error,
                    "event_type": e.event_type, "biz_step": e.biz_step[:60],
                    "event_time": e.event_time.astimezone(UTC), "body": e.body,
                }
                for i, e in enumerate(events)
            ]
            await s.execute(insert(TraceEventRow), rows)
            links = [{"seq": size + i, "batch_id": b} for i, ids in enumerate(batch_ids) for b in ids]
            if links:
                await s.execute(insert(TraceEventBatchRow), links)
            await s.execute(insert(TraceNodeRow), [{"id": node_id(k), "hash": v} for k, v in new.items()])
            new_size = size + len(events)
            root = merkle.root_from(new_size, {**frontier, **new})
            checkpoint = sign(new_size, root)
            s.add(TraceCheckpointRow(
                size=new_size, root=root, note=checkpoint.note,
                signed_at=(checkpoint.signed_at or datetime.now(UTC)).astimezone(UTC),
            ))
            head.size = new_size
            s.add(head)
        logged = [
            LoggedEvent(size + i, e.event_hash, e.body, e.event_type, e.biz_step, e.event_time, e.declares_error)
            for i, e in enumerate(events)
        ]
        return logged, checkpoint

    @staticmethod
    async def _nodes(s, keys: Iterable[merkle.Key]) -> dict[merkle.Key, bytes]:  # type: ignore[no-untyped-def]
        ids = sorted({node_id(k) for k in keys})
        out: dict[merkle.Key, bytes] = {}
        for chunk in _chunks(ids):
            result = await s.execute(select(TraceNodeRow.id, TraceNodeRow.hash).where(TraceNodeRow.id.in_(chunk)))
            for value, digest in result:
                out[node_key(value)] = bytes(digest)
        return out

    async def nodes(self, keys: Iterable[merkle.Key]) -> dict[merkle.Key, bytes]:
        out: dict[merkle.Key, bytes] = {}
        wanted: list[int] = []
        for key in set(keys):
            value = node_id(key)
            cached = self._upper.get(value)
            if cached is not None:
                out[key] = cached
            else:
                wanted.append(value)
        if wanted:
            async with self.db.engine.connect() as conn:  # Core, no ORM session: proofs are hot
                for chunk in _chunks(sorted(wanted)):
                    result = await conn.execute(select(TraceNodeRow.id, TraceNodeRow.hash).where(TraceNodeRow.id.in_(chunk)))
                    for value, digest in result:
                        key = node_key(value)
                        out[key] = bytes(digest)
                        if key[0] >= _CACHED_LEVEL:
                            self._upper[value] = out[key]
        return out

    async def find(self, keys: Iterable[tuple[str, bool]]) -> dict[tuple[str, bool], LoggedEvent]:
        wanted = set(keys)
        if not wanted:
            return {}
        hashes = sorted({h for h, _ in wanted})
        out: dict[tuple[str, bool], LoggedEvent] = {}
        async with self.db.session() as s:
            for i in range(0, len(hashes), _CHUNK):
                rows = (await s.execute(
                    select(TraceEventRow).where(TraceEventRow.event_hash.in_(hashes[i : i + _CHUNK]))
                )).scalars()
                for row in rows:
                    key = (row.event_hash, row.declares_error)
                    if key in wanted:
                        out[key] = _logged(row)
        return out

    async def events_of_batch(self, batch_id: int) -> list[LoggedEvent]:
        async with self.db.session() as s:
            stmt = (
                select(TraceEventRow)
                .join(TraceEventBatchRow, TraceEventBatchRow.seq == TraceEventRow.seq)
                .where(TraceEventBatchRow.batch_id == batch_id)
                .order_by(TraceEventRow.seq)
            )
            return [_logged(r) for r in (await s.execute(stmt)).scalars()]

    async def events(self, seqs: Iterable[int]) -> list[LoggedEvent]:
        wanted = sorted(set(seqs))
        out: list[LoggedEvent] = []
        async with self.db.session() as s:
            if wanted and wanted == list(range(wanted[0], wanted[-1] + 1)):
                stmt = select(TraceEventRow).where(TraceEventRow.seq >= wanted[0], TraceEventRow.seq <= wanted[-1])
                return [_logged(r) for r in (await s.execute(stmt.order_by(TraceEventRow.seq))).scalars()]
            for chunk in _chunks(wanted):
                stmt = select(TraceEventRow).where(TraceEventRow.seq.in_(chunk)).order_by(TraceEventRow.seq)
                out.extend(_logged(r) for r in (await s.execute(stmt)).scalars())
        return out

    async def size(self) -> int:
        async with self.db.session() as s:
            head = await s.get(TraceHeadRow, 1)
            return head.size if head else 0

    async def latest_checkpoint(self) -> Checkpoint | None:
        async with self.db.session() as s:
            stmt = select(TraceCheckpointRow).order_by(TraceCheckpointRow.size.desc()).limit(1)
            row = (await s.execute(stmt)).scalars().first()
            return _checkpoint(row) if row else None

    async def checkpoint(self, size: int) -> Checkpoint | None:
        async with self.db.session() as s:
            row = await s.get(TraceCheckpointRow, size)
            return _checkpoint(row) if row else None

    async def earliest(self, batch_id: int, biz_step: str) -> datetime | None:
        async with self.db.session() as s:
            stmt = (
                select(func.min(TraceEventRow.event_time))
                .join(TraceEventBatchRow, TraceEventBatchRow.seq == TraceEventRow.seq)
                .where(TraceEventBatchRow.batch_id == batch_id, TraceEventRow.biz_step == biz_step,
                       TraceEventRow.declares_error.is_(False))
            )
            value = (await s.execute(stmt)).scalar()
            return _aware(value) if value else None
