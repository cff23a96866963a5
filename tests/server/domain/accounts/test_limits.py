"""The sign-in attempt rule, in process: tries, a lock that doubles, forgetting, give-back."""

from __future__ import annotations

import asyncio

import pytest

from server.domain.accounts.limits import Limit, MemoryAttemptLimiter, TooManyAttempts


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


RULE = Limit(tries=3, window_s=60.0, lock_s=10.0, max_lock_s=35.0)


async def test_the_last_try_locks_and_each_try_after_a_lock_doubles_it_up_to_the_cap() -> None:
    clock = Clock()
    limiter = MemoryAttemptLimiter(clock)
    assert [await limiter.take("k", RULE) for _ in range(3)] == [0.0, 0.0, 0.0]
    assert await limiter.take("k", RULE) == 10.0
    assert await limiter.take("other", RULE) == 0.0  # keys are apart
    locks = []
    for _ in range(4):
        clock.now += await limiter.take("k", RULE)  # wait out the lock
        assert await limiter.take("k", RULE) == 0.0
        locks.append(await limiter.take("k", RULE))
    assert locks == [20.0, 35.0, 35.0, 35.0]


async def test_the_count_is_forgotten_a_window_after_the_last_try_or_lock() -> None:
    clock = Clock()
    limiter = MemoryAttemptLimiter(clock)
    for _ in range(3):
        await limiter.take("k", RULE)
    clock.now += 10.0 + 59.0
    assert await limiter.take("k", RULE) == 0.0  # lock over, not yet forgotten: locks again
    assert await limiter.take("k", RULE) == 20.0
    clock.now += 20.0 + 60.0
    assert [await limiter.take("k", RULE) for _ in range(3)] == [0.0, 0.0, 0.0]


async def test_concurrent_tries_get_no_more_than_the_rule_allows() -> None:
    limiter = MemoryAttemptLimiter(Clock())
    waits = await asyncio.gather(*(limiter.take("k", RULE) for _ in range(50)))
    assert waits.count(0.0) == 3


async def test_give_back_uncounts_a_success_and_clear_forgets_the_key() -> None:
    limiter = MemoryAttemptLimiter(Clock())
    for _ in range(10):
        assert await limiter.take("ip", RULE) == 0.0
        await limiter.give_back("ip")
    await limiter.take("id", RULE)
    await limiter.take("id", RULE)
    await limiter.clear("id")
    assert [await limiter.take("id", RULE) for _ in range(3)] == [0.0, 0.0, 0.0]


@pytest.mark.parametrize(("seconds", "said"), [(0.2, "1 s"), (30.0, "30 s"), (900.0, "15 min"), (3 * 3600.0, "3 h")])
def test_the_refusal_says_when_to_come_back(seconds: float, said: str) -> None:
    error = TooManyAttempts("sign-in attempts", seconds)
    assert error.message == f"too many sign-in attempts: try again in {said}"
    assert error.retry_after == max(1.0, seconds)
