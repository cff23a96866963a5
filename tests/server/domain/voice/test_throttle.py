"""The in-memory throttle: a token bucket per key and a gate per key, on a clock we move by hand."""

from __future__ import annotations

import pytest

from server.domain.voice.throttle import MemoryThrottle


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


async def test_a_bucket_allows_its_burst_then_one_message_per_refill() -> None:
    clock = Clock()
    throttle = MemoryThrottle(clock)
    assert [await throttle.hit("u1", 5, 10.0) for _ in range(5)] == [0.0] * 5
    assert await throttle.hit("u1", 5, 10.0) == pytest.approx(2.0)
    assert await throttle.hit("u2", 5, 10.0) == 0.0, "each key has its own bucket"
    clock.now += 1.0
    assert await throttle.hit("u1", 5, 10.0) == pytest.approx(1.0), "refused attempts do not drain it"
    clock.now += 1.0
    assert await throttle.hit("u1", 5, 10.0) == 0.0
    assert await throttle.hit("u1", 5, 10.0) == pytest.approx(2.0)
    clock.now += 60
    assert [await throttle.hit("u1", 5, 10.0) for _ in range(6)][-2:] == [0.0, pytest.approx(2.0)]


async def test_a_gate_opens_once_per_period() -> None:
    clock = Clock()
    throttle = MemoryThrottle(clock)
    assert await throttle.claim("room:u1", 30) == 0.0
    clock.now += 10
    assert await throttle.claim("room:u1", 30) == pytest.approx(20.0)
    assert await throttle.claim("room:u2", 30) == 0.0
    clock.now += 20
    assert await throttle.claim("room:u1", 30) == 0.0
    assert await throttle.claim("room:u3", 0) == 0.0 and await throttle.claim("room:u3", 0) == 0.0


async def test_idle_keys_are_swept_once_there_are_many(monkeypatch: pytest.MonkeyPatch) -> None:
    import server.domain.voice.throttle as module

    monkeypatch.setattr(module, "SWEEP_AT", 100)
    clock = Clock()
    throttle = MemoryThrottle(clock)
    for i in range(100):
        await throttle.hit(f"old{i}", 5, 10.0)
        await throttle.claim(f"old{i}", 5)
    clock.now += 60  # every old bucket is full again, every old gate open
    await throttle.hit("new", 5, 10.0)
    await throttle.claim("new", 5)
    assert len(throttle._buckets) <= 2 and len(throttle._gates) <= 2
