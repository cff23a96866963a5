"""The real Redis on the machine, for the persistence tests that use it (.ci/run starts it)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from redis.asyncio import Redis

REDIS_URL = "redis://127.0.0.1:6379/0"


@pytest.fixture
async def redis() -> AsyncIterator[Redis]:
    client = Redis.from_url(REDIS_URL)
    try:
        await client.ping()
    except OSError:
        pytest.fail("Redis is not running on 127.0.0.1:6379 (.ci/run starts it)")
    yield client
    await client.aclose()
