"""Rate limits and slow mode, in memory: the single-node default of the `Throttle` port.

A token bucket per key (`hit`): `burst` messages at once, refilled evenly over `window_s`. A gate
per key (`claim`): one event per `seconds`. Both answer 0.0 (go ahead) or the seconds to wait, and
neither touches a database: they run before any other work a message costs.
"""

from __future__ import annotations

import time
from collections.abc import Callable

# Past this many keys, a sweep drops the buckets that are full again and the gates that are open.
SWEEP_AT = 50_000


class MemoryThrottle:
    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self._buckets: dict[str, tuple[float, float, float]] = {}  # key -> tokens, at, full again at
        self._gates: dict[str, float] = {}  # key -> open again at

    async def hit(self, key: str, burst: int, window_s: float) -> float:
        now = self.clock()
        rate = burst / window_s
        tokens, at, _ = self._buckets.get(key, (float(burst), now, now))
        tokens = min(float(burst), tokens + (now - at) * rate)
        if tokens >= 1.0:
            tokens -= 1.0
            self._buckets[key] = (tokens, now, now + (burst - tokens) / rate)
            self._sweep(now)
            return 0.0
        self._buckets[key] = (tokens, now, now + (burst - tokens) / rate)
        return (1.0 - tokens) / rate

    async def claim(self, key: str, seconds: float) -> float:
        now = self.clock()
        opens = self._gates.get(key, 0.0)
        if now < opens:
            return opens - now
        if seconds > 0:
            self._gates[key] = now + seconds
            self._sweep(now)
        return 0.0

    def _sweep(self, now: float) -> None:
        if len(self._buckets) > SWEEP_AT:
            # A bucket that has had time to refill completely is the same as no bucket.
            self._buckets = {k: v for k, v in self._buckets.items() if v[2] > now}
        if len(self._gates) > SWEEP_AT:
            self._gates = {k: v for k, v in self._gates.items() if v > now}
