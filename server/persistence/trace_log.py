"""The Merkle log in SQL: events, complete-subtree hashes and signed checkpoints, insert-only.

The tables are the source of truth. A copy of the tree is kept in memory (`MerkleTree`: loaded
and checked in the background at start, extended on every append, caught up with what other
nodes appended), so proofs are computed without a query; until it is loaded, or once the stored
tree is found not to add up, proofs are read from the tables as they are. `stored_nodes` always
reads the tables: the server-side verifier checks what is stored, not this node's memory.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import and_, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from ..domain.trace import merkle
from ..domain.trace.checkpoints import Checkpoint
from ..domain.trace.epcis import PreparedEvent
from ..domain.trace.merkle_tree import MerkleTree, TreeMismatch
from ..domain.trace.ports import LoggedEvent, Signer
from .db import Database
from .trace_tables import (
    TraceCheckpointRow,
    TraceEventBatchRow,
    TraceEventRow,
    TraceHeadRow,
    TraceNodeRow,
)
from .utc import aware as _aware

logger = logging.getLogger(__name__)

_LEVEL_SHIFT = 48
_CHUNK = 500  # values per IN (...) list: well under SQLite's and asyncpg's parameter limits
_LOAD_STEP = 1 << 16  # leaves read per step while loading: ~4 MB of hashes

_EVENTS: Any = TraceEventRow.__table__  # type: ignore[attr-defined]
_LINKS: Any = TraceEventBatchRow.__table__  # type: ignore[attr-defined]
_NODES: Any = TraceNodeRow.__table__  # type: ignore[attr-defined]
_HEAD: Any = TraceHeadRow.__table__  # type: ignore[attr-defined]
_CHECKPOINTS: Any = TraceCheckpointRow.__table__  # type: ignore[attr-defined]
_EVENT_COLUMNS = (_EVENTS.c.seq, _EVENTS.c.event_hash, _EVENTS.c.body, _EVENTS.c.event_type, _EVENTS.c.biz_step,
                  _EVENTS.c.event_time, _EVENTS.c.declares_error)


def node_id(key: merkle.Key) -> int:
    level, index = key
    return level << _LEVEL_SHIFT | index


def node_key(value: int) -> merkle.Key:
    return value >> _LEVEL_SHIFT, value & ((1 << _LEVEL_SHIFT) - 1)


def _logged(row: Any) -> LoggedEvent:
    seq, event_hash, body, event_type, biz_step, event_time, declares_error = row
    return LoggedEvent(seq, event_hash, body, event_type, biz_step, _aware(event_time), bool(declares_error))


def _checkpoint(row: Any) -> Checkpoint:
    size, root, note, signed_at = row
    origin = note.split("\n", 1)[0]
    return Checkpoint(origin, size, bytes(root), note, _aware(signed_at))


def _chunks(values: Sequence[Any]) -> Iterable[Sequence[Any]]:
    for i in range(0, len(values), _CHUNK):
        yield values[i : i + _CHUNK]


async def _read_nodes(conn: AsyncConnection, keys: Iterable[merkle.Key]) -> dict[merkle.Key, bytes]:
    ids = sorted({node_id(k) for k in keys})
    out: dict[merkle.Key, bytes] = {}
    for chunk in _chunks(ids):
        result = await conn.execute(select(_NODES.c.id, _NODES.c.hash).where(_NODES.c.id.in_(chunk)))
        for value, digest in result:
            out[node_key(value)] = bytes(digest)
    return out


async def _read_range(conn: AsyncConnection, size: int, new_size: int) -> dict[merkle.Key, bytes]:
    """The stored nodes that appending leaves [size, new_size) made: one primary-key range per level."""
    out: dict[merkle.Key, bytes] = {}
    for level, first, end in MerkleTree.keys_between(size, new_size):
        low, high = node_id((level, first)), node_id((level, end))
        result = await conn.execute(select(_NODES.c.id, _NODES.c.hash).where(_NODES.c.id >= low, _NODES.c.id < high))
        for value, digest in result:
            out[node_key(value)] = bytes(digest)
    return out


async def _head_size(conn: AsyncConnection) -> int:
    return int((await conn.execute(select(_HEAD.c.size).where(_HEAD.c.id == 1))).scalar() or 0)


class SqlTraceLog:
    def __init__(self, db: Database) -> None:
        self.db = db
        # This node's copy of the tree: None until loaded, and again for good once the store is
        # found damaged (then everything is read from the tables, so every verifier sees it).
        self.tree: MerkleTree | None = None
        self.damaged: str | None = None
        self._sync = asyncio.Lock()
        self._loader: asyncio.Task[None] | None = None

    # -- the copy in memory ---------------------------------------------------------------------

    def start(self) -> None:
        """Load the stored tree in the background: the server serves meanwhile, from the tables."""
        self._loader = asyncio.ensure_future(self.load())

    @property
    def state(self) -> str:
        """Where proofs come from: "memory", "loading" (the tables, until loaded) or "damaged" (the tables)."""
        return "damaged" if self.damaged else "memory" if self.tree is not None else "loading"

    async def loaded(self) -> None:
        """Wait until the background load (started by `start`) is over, whatever it found."""
        if self._loader is not None:
            await asyncio.shield(self._loader)

    async def close(self) -> None:
        if self._loader is not None:
            self._loader.cancel()
            await asyncio.gather(self._loader, return_exceptions=True)

    async def load(self) -> None:
        tree = MerkleTree()
        try:
            async with self.db.engine.connect() as conn:
                target = await _head_size(conn)
                while tree.size < target:
                    step = min(target, tree.size + _LOAD_STEP)
                    tree.extend(step, await _read_range(conn, tree.size, step))
                    await conn.commit()  # end the read transaction: appends go on meanwhile
                row = (await conn.execute(
                    select(_CHECKPOINTS.c.size, _CHECKPOINTS.c.root).order_by(_CHECKPOINTS.c.size.desc()).limit(1)
                )).first()
            if row is not None and row[0] <= tree.size and tree.root(row[0]) != bytes(row[1]):
                raise TreeMismatch(f"the stored tree does not hash to the root of checkpoint {row[0]}")
        except TreeMismatch as exc:
            self._damage(str(exc))
            return
        if self.damaged is None:
            self.tree = tree
            logger.info("trace log loaded: %d entries, %.1f MB of hashes in memory", tree.size, tree.bytes_used / 1e6)
            await self.catch_up()

    def _damage(self, reason: str) -> None:
        if self.damaged is None:
            logger.error("the stored trace log does not add up (%s): proofs are served from the tables as stored", reason)
        self.damaged = reason
        self.tree = None

    async def catch_up(self) -> None:
        """Bring the copy up to the stored head (entries other nodes appended)."""
        async with self._sync:
            tree = self.tree
            if tree is None:
                return
            async with self.db.engine.connect() as conn:
                target = await _head_size(conn)
                if target == tree.size:
                    return
                if target < tree.size:
                    self._damage(f"the stored log shrank from {tree.size} to {target} entries")
                    return
                start = tree.size
                stored = await _read_range(conn, start, target)
            if self.tree is tree and tree.size == start:  # an append here may have got further meanwhile
                try:
                    tree.extend(target, stored)
                except TreeMismatch as exc:
                    self._damage(str(exc))

    # -- appending ------------------------------------------------------------------------------

    async def append(
        self, events: list[PreparedEvent], batch_ids: list[list[int]], sign: Signer
    ) -> tuple[list[LoggedEvent], Checkpoint]:
        leaves = [merkle.leaf_hash(e.body.encode()) for e in events]
        async with self.db.engine.begin() as conn:
            stmt = select(_HEAD.c.size).where(_HEAD.c.id == 1)
            if not self.db.is_sqlite:
                stmt = stmt.with_for_update()  # the nodes of a cluster take turns here
            size = (await conn.execute(stmt)).scalar()
            if size is None:
                await conn.execute(insert(_HEAD), [{"id": 1, "size": 0}])
                size = 0
            tree = self.tree
            if tree is not None and tree.size != size:
                tree = await self._follow(conn, tree, size)
            frontier = tree.frontier() if tree is not None else await _read_nodes(conn, merkle.frontier(size))
            new = merkle.append(size, frontier, leaves)
            new_size = size + len(events)
            await conn.execute(insert(_EVENTS), [
                {
                    "seq": size + i, "event_hash": e.event_hash, "declares_error": e.declares_error,
                    "event_type": e.event_type, "biz_step": e.biz_step[:60],
                    "event_time": e.event_time.astimezone(UTC), "body": e.body,
                }
                for i, e in enumerate(events)
            ])
            links = [{"seq": size + i, "batch_id": b} for i, ids in enumerate(batch_ids) for b in ids]
            if links:
                await conn.execute(insert(_LINKS), links)
            await conn.execute(insert(_NODES), [{"id": node_id(k), "hash": v} for k, v in new.items()])
            root = merkle.root_from(new_size, {**frontier, **new})
            checkpoint = sign(new_size, root)
            await conn.execute(insert(_CHECKPOINTS), [{
                "size": new_size, "root": root, "note": checkpoint.note,
                "signed_at": (checkpoint.signed_at or datetime.now(UTC)).astimezone(UTC),
            }])
            await conn.execute(update(_HEAD).where(_HEAD.c.id == 1).values(size=new_size))
        # Only once committed: the copy never runs ahead of the tables.
        if tree is not None and self.tree is tree:
            tree.add(size, new_size, new)
        logged = [
            LoggedEvent(size + i, e.event_hash, e.body, e.event_type, e.biz_step, e.event_time, e.declares_error)
            for i, e in enumerate(events)
        ]
        return logged, checkpoint

    async def _follow(self, conn: AsyncConnection, tree: MerkleTree, size: int) -> MerkleTree | None:
        """Inside an append (holding the head): bring the copy to the stored `size`, or drop it."""
        if size < tree.size:
            self._damage(f"the stored log shrank from {tree.size} to {size} entries")
            return None
        start = tree.size
        stored = await _read_range(conn, start, size)
        if tree.size == start:
            try:
                tree.extend(size, stored)
            except TreeMismatch as exc:
                self._damage(str(exc))
                return None
        return tree if self.tree is tree and tree.size == size else None

    # -- reading --------------------------------------------------------------------------------

    async def nodes(self, keys: Iterable[merkle.Key]) -> dict[merkle.Key, bytes]:
        """Complete-subtree hashes for proofs: from memory when this node has the tree."""
        wanted = set(keys)
        for attempt in range(2):
            tree = self.tree
            if tree is None:
                break
            out = tree.nodes(wanted)
            if len(out) == len(wanted):
                return out
            if attempt == 0:
                await self.catch_up()  # asked about entries another node appended
        return await self.stored_nodes(wanted)

    async def stored_nodes(self, keys: Iterable[merkle.Key]) -> dict[merkle.Key, bytes]:
        async with self.db.engine.connect() as conn:
            return await _read_nodes(conn, keys)

    async def find(self, keys: Iterable[tuple[str, bool]]) -> dict[tuple[str, bool], LoggedEvent]:
        wanted = set(keys)
        if not wanted:
            return {}
        hashes = sorted({h for h, _ in wanted})
        out: dict[tuple[str, bool], LoggedEvent] = {}
        async with self.db.engine.connect() as conn:
            for chunk in _chunks(hashes):
                for row in await conn.execute(select(*_EVENT_COLUMNS).where(_EVENTS.c.event_hash.in_(chunk))):
                    event = _logged(row)
                    key = (event.event_hash, event.declares_error)
                    if key in wanted:
                        out[key] = event
        return out

    async def events_of_batch(self, batch_id: int) -> list[LoggedEvent]:
        stmt = (
            select(*_EVENT_COLUMNS)
            .join(_LINKS, _LINKS.c.seq == _EVENTS.c.seq)
            .where(_LINKS.c.batch_id == batch_id)
            .order_by(_EVENTS.c.seq)
        )
        async with self.db.engine.connect() as conn:
            return [_logged(r) for r in await conn.execute(stmt)]

    async def events(self, seqs: Iterable[int]) -> list[LoggedEvent]:
        wanted = sorted(set(seqs))
        out: list[LoggedEvent] = []
        async with self.db.engine.connect() as conn:
            if wanted and wanted == list(range(wanted[0], wanted[-1] + 1)):
                stmt = select(*_EVENT_COLUMNS).where(_EVENTS.c.seq >= wanted[0], _EVENTS.c.seq <= wanted[-1])
                return [_logged(r) for r in await conn.execute(stmt.order_by(_EVENTS.c.seq))]
            for chunk in _chunks(wanted):
                stmt = select(*_EVENT_COLUMNS).where(_EVENTS.c.seq.in_(chunk)).order_by(_EVENTS.c.seq)
                out.extend(_logged(r) for r in await conn.execute(stmt))
        return out

    async def size(self) -> int:
        async with self.db.engine.connect() as conn:
            return await _head_size(conn)

    async def latest_checkpoint(self) -> Checkpoint | None:
        stmt = select(_CHECKPOINTS.c.size, _CHECKPOINTS.c.root, _CHECKPOINTS.c.note, _CHECKPOINTS.c.signed_at)
        async with self.db.engine.connect() as conn:
            row = (await conn.execute(stmt.order_by(_CHECKPOINTS.c.size.desc()).limit(1))).first()
        return _checkpoint(row) if row else None

    async def checkpoint(self, size: int) -> Checkpoint | None:
        stmt = select(_CHECKPOINTS.c.size, _CHECKPOINTS.c.root, _CHECKPOINTS.c.note, _CHECKPOINTS.c.signed_at)
        async with self.db.engine.connect() as conn:
            row = (await conn.execute(stmt.where(_CHECKPOINTS.c.size == size))).first()
        return _checkpoint(row) if row else None

    async def earliest(self, batch_ids: Iterable[int], biz_step: str) -> dict[int, datetime]:
        """The earliest eventTime of a (not error-declaring) `biz_step` event, per batch that has one."""
        wanted = sorted(set(batch_ids))
        out: dict[int, datetime] = {}
        async with self.db.engine.connect() as conn:
            for chunk in _chunks(wanted):
                stmt = (
                    select(_LINKS.c.batch_id, func.min(_EVENTS.c.event_time))
                    .join(_EVENTS, _LINKS.c.seq == _EVENTS.c.seq)
                    .where(and_(_LINKS.c.batch_id.in_(chunk), _EVENTS.c.biz_step == biz_step,
                                _EVENTS.c.declares_error.is_(False)))
                    .group_by(_LINKS.c.batch_id)
                )
                for batch_id, moment in await conn.execute(stmt):
                    if moment is not None:
                        out[int(batch_id)] = _aware(moment)
        return out
