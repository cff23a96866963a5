"""Pieces of the Redis order placement against the real Redis: batched scripts, reservation ids."""

from __future__ import annotations

import asyncio
import secrets
import time

import pytest
from redis.asyncio import Redis

from server.persistence.commerce_redis import ScriptBatch, new_reservation, reserved_at

pytestmark = pytest.mark.timeout(30)

# Returns the counter after adding ARGV[1], and the call's tag: each call's own answer.
INCR = "return {redis.call('INCRBY', KEYS[1], tonumber(ARGV[1])), ARGV[2]}"



async def test_calls_in_one_turn_share_a_pipeline_and_each_gets_its_own_answer(redis: Redis) -> None:
    key = f"test:{secrets.token_hex(4)}:n"
    batch = ScriptBatch(redis, redis.register_script(INCR))
    try:
        answers = await asyncio.gather(*(batch(keys=[key], args=[1, f"t{i}"]) for i in range(300)))
        # Atomic and in call order: the counts are 1..300 in the order the calls were made.
        assert [int(n) for n, _ in answers] == list(range(1, 301))
        assert [tag.decode() for _, tag in answers] == [f"t{i}" for i in range(300)]
    finally:
        await redis.delete(key)


async def test_a_server_that_lost_its_scripts_gets_them_again(redis: Redis) -> None:
    key = f"test:{secrets.token_hex(4)}:n"
    script = redis.register_script(INCR)
    batch = ScriptBatch(redis, script)
    try:
        assert int((await batch(keys=[key], args=[1, "a"]))[0]) == 1
        await redis.script_flush()  # as a Redis restart does
        assert not (await redis.script_exists(script.sha))[0]
        answers = await asyncio.gather(*(batch(keys=[key], args=[2, "b"]) for _ in range(5)))
        assert sorted(int(n) for n, _ in answers) == [3, 5, 7, 9, 11]
        assert (await redis.script_exists(script.sha))[0]
    finally:
        await redis.delete(key)


def test_a_reservation_id_says_when_it_was_made_and_ids_do_not_repeat() -> None:
    now = time.time()
    ids = {new_reservation(now) for _ in range(10_000)}
    assert len(ids) == 10_000
    at = reserved_at(next(iter(ids)))
    assert at is not None and abs(at - now) < 0.001
    assert reserved_at("0b9e1b4e6e3d4a578f3c7b9f3c1f2a11") is None  # an id from before ids had times
