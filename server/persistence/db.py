"""The database engine: SQLite file by default, PostgreSQL when the URL says so."""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from sqlalchemy import event
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine
from sqlmodel import SQLModel

from . import tables  # noqa: F401  (registers the tables on SQLModel.metadata)
from . import trace_tables  # noqa: F401  (trace log, batches, photos)
from . import voice_tables  # noqa: F401  (chat and moderation)
from . import voice_qa  # noqa: F401  (questions, votes, pins)
from . import voice_reviews  # noqa: F401  (verified-buyer reviews)
from . import commerce_tables  # noqa: F401

logger = logging.getLogger(__name__)


def async_url(url: str) -> str:
    """Pick the asyncio driver for a plain sqlite:// or postgresql:// URL."""
    if url.startswith("sqlite://"):
        return "sqlite+aiosqlite://" + url.removeprefix("sqlite://")
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+asyncpg://" + url.removeprefix(prefix)
    return url


# A pooled connection unused for longer than this is checked with a ping before it is handed out.
IDLE_PING_S = 5.0


def _ping_when_idle(engine: AsyncEngine, idle_s: float) -> None:
    """SQLAlchemy's pool_pre_ping, for connections that have sat idle: a server restart or an
    idle timeout on the way closes those, while a connection checked in a moment ago is fine.
    pool_pre_ping costs a round trip on every checkout, and a claim rush checks out a
    connection for every batch it writes."""
    pool = engine.sync_engine

    @event.listens_for(pool, "connect")
    def _connected(_dbapi_connection, record):  # type: ignore[no-untyped-def]
        record.info["fc_idle_since"] = time.monotonic()

    @event.listens_for(pool, "checkin")
    def _checked_in(_dbapi_connection, record):  # type: ignore[no-untyped-def]
        if record is not None:
            record.info["fc_idle_since"] = time.monotonic()

    @event.listens_for(pool, "checkout")
    def _checkout(dbapi_connection, record, _proxy):  # type: ignore[no-untyped-def]
        since = record.info.get("fc_idle_since")
        if since is not None and time.monotonic() - since < idle_s:
            return
        try:
            dbapi_connection.ping()
        except Exception as exc:
            # The pool discards this connection and hands out a new one.
            raise DisconnectionError(f"idle connection is gone: {exc}") from exc


class Database:
    def __init__(self, url: str, idle_ping_s: float = IDLE_PING_S) -> None:
        self.url = async_url(url)
        self.is_sqlite = self.url.startswith("sqlite")
        if self.is_sqlite:
            path = self.url.split(":///", 1)[-1]
            if path and path != ":memory:":
                Path(path).parent.mkdir(parents=True, exist_ok=True)
        self.engine: AsyncEngine = create_async_engine(self.url)
        if not self.is_sqlite:
            _ping_when_idle(self.engine, idle_ping_s)
        if self.is_sqlite:
            # WAL lets readers run beside the one writer; busy_timeout waits instead of failing.
            @event.listens_for(self.engine.sync_engine, "connect")
            def _sqlite_pragmas(dbapi_connection, _record):  # type: ignore[no-untyped-def]
                cursor = dbapi_connection.cursor()
                cursor.execute("PRAGMA journal_mode=WAL")
                cursor.execute("PRAGMA busy_timeout=5000")
                cursor.execute("PRAGMA foreign_keys=ON")
                cursor.close()

        self.sessions = async_sessionmaker(self.engine, expire_on_commit=False)

    async def create_schema(self) -> None:
        async with self.engine.begin() as conn:
            await conn.run_sync(SQLModel.metadata.create_all)

    @asynccontextmanager
    async def session(self) -> AsyncIterator[AsyncSession]:
        async with self.sessions() as session:
            yield session

    async def close(self) -> None:
        await self.engine.dispose()
