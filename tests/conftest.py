"""Shared fixtures: settings for each database mode, a running app, a room, aiortc peers; and
the event loop the async tests run on."""

from __future__ import annotations

import asyncio
import inspect
import os
import secrets
from collections.abc import AsyncIterator, Callable, Iterator, Mapping
from pathlib import Path

import pytest
import uvloop
from pytest_asyncio import is_async_test

from server.config import Settings

# The async tests run on the loop `fieldcast serve` runs on: uvloop (Settings.event_loop's
# default, server/cli.py). pytest-asyncio would otherwise run them all on the standard loop, and
# code that only works there (the MQTT bridge once asserted an asyncio.Transport) passes the
# suite and fails in production. Tests marked `both_loops` run on each of the two loops
# (FIELDCAST_EVENT_LOOP=asyncio is supported), their ids ending in [uvloop] / [asyncio].
# pytest-asyncio 1.x takes the loops from this hook (overriding `event_loop_policy` is deprecated);
# it parametrises each async test, and the async fixtures it uses, with the factories returned.
# A sync test is not parametrised, so an async fixture it asked for would run on the standard
# loop: pytest_collection_modifyitems refuses that. The browser tests need no exception:
# playwright's driver subprocess and pipes work on uvloop.
EVENT_LOOPS: dict[str, Callable[[], asyncio.AbstractEventLoop]] = {
    "uvloop": uvloop.new_event_loop,
    "asyncio": asyncio.new_event_loop,
}


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "both_loops: run on uvloop (the default for every async test) and on the standard loop"
    )


def pytest_asyncio_loop_factories(
    config: pytest.Config, item: pytest.Item
) -> Mapping[str, Callable[[], asyncio.AbstractEventLoop]]:
    if item.get_closest_marker("both_loops") is not None:
        return EVENT_LOOPS
    return {"uvloop": EVENT_LOOPS["uvloop"]}


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if not isinstance(item, pytest.Function) or is_async_test(item):
            continue
        for name, defs in item._fixtureinfo.name2fixturedefs.items():
            func = defs[-1].func
            if inspect.iscoroutinefunction(func) or inspect.isasyncgenfunction(func):
                raise pytest.UsageError(
                    f"{item.nodeid}: async fixture {name!r} in a sync test would run on the standard "
                    "loop, not uvloop: make the test async"
                )


PG_ADMIN_DSN = os.environ.get("FIELDCAST_TEST_PG", "postgresql://postgres@127.0.0.1:5432/postgres")


async def _pg_admin(sql: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(PG_ADMIN_DSN)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    """Each test that takes this runs twice: embedded SQLite and the real PostgreSQL."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path}/fieldcast.db"
        return
    name = f"fieldcast_test_{secrets.token_hex(6)}"
    await _pg_admin(f'CREATE DATABASE "{name}"')
    base = PG_ADMIN_DSN.rsplit("/", 1)[0]
    try:
        yield f"{base}/{name}"
    finally:
        await _pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path}/fieldcast.db"


def make_settings(database_url: str, **extra: object) -> Settings:
    return Settings(
        database_url=database_url,
        ice_include_loopback=True,
        ice_servers=[],
        port=0,
        **extra,  # type: ignore[arg-type]
    )


@pytest.fixture
def no_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for key in list(os.environ):
        if key.startswith("FIELDCAST_") and key != "FIELDCAST_TEST_PG":
            monkeypatch.delenv(key)
    yield
