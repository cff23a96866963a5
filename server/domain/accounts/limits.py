"""How often sign-in may be tried: per phone/email and per IP address, with a growing lock-out.

One rule for every guard (`Limit`): `tries` attempts within the window go ahead; the attempt that
uses the last one also locks the key for `lock_s`, and every attempt after a lock ends locks it
again for twice as long (up to `max_lock_s`). The count is forgotten `window_s` after the last
attempt or lock. An attempt is counted BEFORE the guess is checked, in one atomic step, so a burst
of concurrent guesses gets no more tries than a patient attacker; a success then clears (or, for a
shared address, gives back) its count.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from ..errors import DomainError

# Past this many keys, a sweep drops the ones whose count has been forgotten.
SWEEP_AT = 50_000


@dataclass(frozen=True)
class Limit:
    tries: int
    window_s: float
    lock_s: float
    max_lock_s: float

    def lock_for(self, count: int) -> float:
        """The lock the `count`-th attempt starts (0 while tries are left)."""
        if count < self.tries:
            return 0.0
        return min(self.max_lock_s, self.lock_s * 2.0 ** min(count - self.tries, 40))


@dataclass(frozen=True)
class SignInLimits:
    """Every sign-in guard. The per-code try count (5) is not here: it lives on the code itself."""

    password_per_identifier: Limit
    password_per_ip: Limit
    code_request_per_identifier: Limit
    code_request_per_ip: Limit
    code_verify_per_identifier: Limit
    code_verify_per_ip: Limit


class TooManyAttempts(DomainError):
    """Refused before anything was checked: the caller must wait `retry_after` seconds."""

    code = "too_many_attempts"
    expected = True

    def __init__(self, what: str, retry_after: float) -> None:
        self.retry_after = max(1.0, retry_after)
        super().__init__(f"too many {what}: try again in {_human(self.retry_after)}")


def _human(seconds: float) -> str:
    whole = int(seconds + 0.999)
    if whole < 120:
        return f"{whole} s"
    if whole < 7200:
        return f"{(whole + 59) // 60} min"
    return f"{(whole + 3599) // 3600} h"


class MemoryAttemptLimiter:
    """The embedded default (one node): counts in this process. Redis shares them across nodes."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self._state: dict[str, tuple[int, float, float]] = {}  # key -> count, locked until, forget at

    async def take(self, key: str, limit: Limit) -> float:
        now = self.clock()
        count, locked, forget = self._state.get(key, (0, 0.0, 0.0))
        if now >= forget:
            count, locked = 0, 0.0
        if now < locked:
            return locked - now
        count += 1
        lock = limit.lock_for(count)
        if lock:
            locked = now + lock
        self._state[key] = (count, locked, max(now, locked) + limit.window_s)
        if len(self._state) > SWEEP_AT:
            self._state = {k: v for k, v in self._state.items() if v[2] > now}
        return 0.0

    async def give_back(self, key: str) -> None:
        state = self._state.get(key)
        if state is not None and state[0] > 0:
            self._state[key] = (state[0] - 1, state[1], state[2])

    async def clear(self, key: str) -> None:
        self._state.pop(key, None)
