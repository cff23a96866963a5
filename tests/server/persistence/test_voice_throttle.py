"""The Redis throttle against the real Redis: the same answers as the in-memory one, shared by nodes."""

from __future__ import annotations

import asyncio
import secrets

from redis.asyncio import Redis

from server.persistence.voice_throttle import RedisThrottle


async def test_two_nodes_share_one_bucket(redis: Redis) -> None:
    prefix = f"test:{secrets.token_hex(4)}:"
    node_a, node_b = RedisThrottle(redis, prefix), RedisThrottle(redis, prefix)
    waits = [await (node_a if i % 2 else node_b).hit("chat:rate:7", 5, 10.0) for i in range(6)]
    assert waits[:5] == [0.0] * 5
    assert 1.9 < waits[5] <= 2.0
    assert await node_a.hit("chat:rate:8", 5, 10.0) == 0.0
    ttl = await redis.pttl(prefix + "chat:rate:7")
    assert 0 < ttl <= 11_000, "a bucket expires once it would be full again"


async def test_a_bucket_refills_over_its_window(redis: Redis) -> None:
    throttle = RedisThrottle(redis, f"test:{secrets.token_hex(4)}:")
    assert [await throttle.hit("k", 2, 0.4) for _ in range(2)] == [0.0, 0.0]
    assert await throttle.hit("k", 2, 0.4) > 0
    await asyncio.sleep(0.25)
    assert await throttle.hit("k", 2, 0.4) == 0.0


async def test_the_slow_mode_gate_is_shared_and_reopens(redis: Redis) -> None:
    prefix = f"test:{secrets.token_hex(4)}:"
    node_a, node_b = RedisThrottle(redis, prefix), RedisThrottle(redis, prefix)
    assert await node_a.claim("chat:slow:farm:7", 0.3) == 0.0
    wait = await node_b.claim("chat:slow:farm:7", 0.3)
    assert 0 < wait <= 0.3
    assert await node_b.claim("chat:slow:farm:8", 0.3) == 0.0
    await asyncio.sleep(wait + 0.05)
    assert await node_b.claim("chat:slow:farm:7", 0.3) == 0.0
