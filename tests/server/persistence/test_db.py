"""The PostgreSQL pool pings a connection only after it sat idle, and replaces one that is gone."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import pytest
from sqlalchemy import text
from sqlalchemy.dialects.postgresql.asyncpg import AsyncAdapt_asyncpg_connection

from server.persistence.db import Database
from tests.conftest import PG_ADMIN_DSN, _pg_admin

pytestmark = [pytest.mark.postgres, pytest.mark.timeout(60)]


@pytest.fixture
async def pg_url() -> AsyncIterator[str]:
    name = f"fieldcast_test_{secrets.token_hex(6)}"
    await _pg_admin(f'CREATE DATABASE "{name}"')
    try:
        yield f"{PG_ADMIN_DSN.rsplit('/', 1)[0]}/{name}"
    finally:
        await _pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def pings(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    count: list[int] = []
    ping = AsyncAdapt_asyncpg_connection.ping

    def counted(self: Any) -> Any:
        count.append(1)
        return ping(self)

    monkeypatch.setattr(AsyncAdapt_asyncpg_connection, "ping", counted)
    return count


async def _backend_pid(db: Database) -> int:
    async with db.engine.connect() as conn:
        return int((await conn.execute(text("SELECT pg_backend_pid()"))).scalar_one())


async def test_a_busy_connection_is_not_pinged_and_an_idle_dead_one_is_replaced(pg_url: str, pings: list[int]) -> None:
    db = Database(pg_url, idle_ping_s=2.0)
    try:
        first = await _backend_pid(db)
        for _ in range(20):  # checked out again and again within the idle time: no extra round trips
            assert await _backend_pid(db) == first
        assert pings == []
        # The server drops the connection while it sits idle (a restart, an idle timeout).
        admin = await asyncpg.connect(PG_ADMIN_DSN)
        try:
            assert await admin.fetchval("SELECT pg_terminate_backend($1)", first)
        finally:
            await admin.close()
        await asyncio.sleep(2.1)  # ... for longer than the idle time
        second = await _backend_pid(db)  # no error: pinged, found dead, replaced
        assert second != first and len(pings) == 1
    finally:
        await db.close()
