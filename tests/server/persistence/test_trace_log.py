"""The stored log and this node's copy of its tree: proofs without a query once loaded, other
nodes' appends followed, and a store that does not add up served as stored (so verifiers see it)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import event, text

from server.domain.trace import merkle
from server.domain.trace.checkpoints import NoteSigner
from server.domain.trace.epcis import PreparedEvent
from server.persistence.db import Database
from server.persistence.trace_log import SqlTraceLog, node_id

SIGNER = NoteSigner("test-log", bytes(range(32)))


def sign(size: int, root: bytes) -> Any:
    return SIGNER.sign("test-log", size, root, datetime.now(UTC))


def events(start: int, count: int) -> list[PreparedEvent]:
    return [
        PreparedEvent(f"ni:///sha-256;{i:064x}?ver=CBV2.0", f'{{"n":{i}}}', "ObjectEvent", "inspecting",
                      datetime(2026, 1, 1, tzinfo=UTC), (), False, ())
        for i in range(start, start + count)
    ]


async def append(log: SqlTraceLog, start: int, count: int) -> Any:
    _, checkpoint = await log.append(events(start, count), [[] for _ in range(count)], sign)
    return checkpoint


@pytest.fixture
async def db(database_url: str) -> AsyncIterator[Database]:
    database = Database(database_url)
    await database.create_schema()
    yield database
    await database.close()


def count_statements(db: Database) -> list[str]:
    seen: list[str] = []
    event.listen(db.engine.sync_engine, "before_cursor_execute", lambda *a: seen.append(a[2]))
    return seen


def all_proofs_verify(nodes: dict[merkle.Key, bytes], size: int, root: bytes) -> bool:
    return all(
        merkle.verify_inclusion(m, size, merkle.leaf_hash(f'{{"n":{m}}}'.encode()),
                                merkle.assemble(merkle.inclusion_plan(m, size), nodes), root)
        for m in range(size)
    )


async def test_a_loaded_log_serves_proofs_from_memory_without_a_query(db: Database) -> None:
    writer = SqlTraceLog(db)
    for start, count in ((0, 1), (1, 6), (7, 30)):
        head = await append(writer, start, count)
    log = SqlTraceLog(db)
    await log.load()
    assert log.tree is not None and log.tree.size == 37 and log.damaged is None
    statements = count_statements(db)
    keys = set().union(*(merkle.keys_of(merkle.inclusion_plan(m, 37)) for m in range(37)))
    nodes = await log.nodes(keys)
    assert statements == []
    assert nodes == await log.stored_nodes(keys)
    assert all_proofs_verify(nodes, 37, head.root)
    # Appending here keeps the copy in step: the next proofs still need no query for the nodes.
    head = await append(log, 37, 5)
    statements.clear()
    nodes = await log.nodes(set().union(*(merkle.keys_of(merkle.inclusion_plan(m, 42)) for m in range(42))))
    assert statements == [] and all_proofs_verify(nodes, 42, head.root)


async def test_entries_appended_by_another_node_are_followed(db: Database) -> None:
    here, there = SqlTraceLog(db), SqlTraceLog(db)
    await append(here, 0, 3)
    await here.load()
    await there.load()
    head = await append(there, 3, 9)  # another node grows the log
    keys = set().union(*(merkle.keys_of(merkle.inclusion_plan(m, 12)) for m in range(12)))
    nodes = await here.nodes(keys)
    assert here.tree is not None and here.tree.size == 12
    assert all_proofs_verify(nodes, 12, head.root)
    await append(there, 12, 2)
    head = await append(here, 14, 4)  # this node appends after the other's: it follows first
    assert here.tree is not None and here.tree.size == 18 and here.damaged is None
    assert here.tree.root() == head.root == merkle.root_from(18, await here.stored_nodes(merkle.root_plan(18)))


@pytest.mark.parametrize("damage", [
    "UPDATE trace_nodes SET hash = :zero WHERE id = :inner",
    "UPDATE trace_nodes SET hash = :zero WHERE id = 3",
    "DELETE FROM trace_nodes WHERE id = 2",
], ids=["inner-node", "leaf", "leaf-deleted"])
async def test_a_store_changed_before_loading_is_served_as_stored(db: Database, damage: str) -> None:
    writer = SqlTraceLog(db)
    head = await append(writer, 0, 12)
    async with db.engine.begin() as conn:
        await conn.execute(text(damage), {"zero": bytes(32), "inner": node_id((2, 1))})
    log = SqlTraceLog(db)
    await log.load()
    assert log.tree is None and log.damaged
    keys = set().union(*(merkle.keys_of(merkle.inclusion_plan(m, 12)) for m in range(12)))
    nodes = await log.nodes(keys)
    assert nodes == await log.stored_nodes(keys)  # what is stored, damage and all
    nodes.update({k: bytes(32) for k in keys - nodes.keys()})
    assert not all_proofs_verify(nodes, 12, head.root)


async def test_a_log_that_shrank_in_the_database_is_no_longer_trusted_in_memory(db: Database) -> None:
    log = SqlTraceLog(db)
    await append(log, 0, 5)
    await log.load()
    async with db.engine.begin() as conn:
        for table in ("trace_events", "trace_nodes", "trace_checkpoints", "trace_head"):
            await conn.execute(text(f"DELETE FROM {table}"))
    head = await append(log, 100, 3)  # a rewritten log starts again at 0
    assert log.tree is None and "shrank" in (log.damaged or "")
    nodes = await log.nodes(merkle.root_plan(3))
    assert merkle.root_from(3, nodes) == head.root
