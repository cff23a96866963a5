"""The Redis sign-in limiter against the real Redis: the in-process rule, shared by nodes."""

from __future__ import annotations

import asyncio
import secrets

from redis.asyncio import Redis

from server.domain.accounts.limits import Limit
from server.persistence.accounts_limits import RedisAttemptLimiter
from tests.server.persistence.conftest import REDIS_URL


async def test_two_nodes_count_the_same_tries_and_the_lock_doubles(redis: Redis) -> None:
    prefix = f"test:{secrets.token_hex(4)}:"
    node_a, node_b = RedisAttemptLimiter(redis, prefix), RedisAttemptLimiter(redis, prefix)
    rule = Limit(tries=3, window_s=5.0, lock_s=0.3, max_lock_s=10.0)
    assert [await (node_a if i % 2 else node_b).take("pw:id:x", rule) for i in range(3)] == [0.0] * 3
    wait = await node_a.take("pw:id:x", rule)
    assert 0.2 < wait <= 0.3
    await asyncio.sleep(wait + 0.05)  # the lock's length is what is under test
    assert await node_b.take("pw:id:x", rule) == 0.0
    assert 0.5 < await node_a.take("pw:id:x", rule) <= 0.6
    ttl = await redis.pttl(prefix + "pw:id:x")
    assert 5_000 < ttl <= 5_600, "the count is forgotten a window after the lock ends"


async def test_concurrent_tries_across_nodes_get_no_more_than_the_rule_allows() -> None:
    # 400 at once over 4 nodes' own pools: each burst waits for a connection instead of failing.
    prefix = f"test:{secrets.token_hex(4)}:"
    nodes = [RedisAttemptLimiter.from_url(REDIS_URL, prefix) for _ in range(4)]
    try:
        rule = Limit(tries=5, window_s=60.0, lock_s=30.0, max_lock_s=60.0)
        waits = await asyncio.gather(*(nodes[i % 4].take("guess:id:y", rule) for i in range(400)))
        assert waits.count(0.0) == 5
    finally:
        for node in nodes:
            await node.clear("guess:id:y")
            await node.close()


async def test_give_back_and_clear(redis: Redis) -> None:
    limiter = RedisAttemptLimiter(redis, f"test:{secrets.token_hex(4)}:")
    rule = Limit(tries=2, window_s=60.0, lock_s=30.0, max_lock_s=60.0)
    for _ in range(5):
        assert await limiter.take("ip", rule) == 0.0
        await limiter.give_back("ip")
    await limiter.give_back("never-seen")  # makes no key
    assert await redis.exists(limiter.prefix + "never-seen") == 0
    await limiter.take("id", rule)
    assert await limiter.take("id", rule) == 0.0
    assert await limiter.take("id", rule) > 0
    await limiter.clear("id")
    assert await limiter.take("id", rule) == 0.0
