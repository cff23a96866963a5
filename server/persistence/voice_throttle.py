"""Rate limits and slow mode in Redis: the same `Throttle` as the in-memory one, shared by every node.

Each check is one Lua script run (atomic, one round trip); Redis's own clock is used so nodes with
drifting clocks agree. Keys expire once they no longer matter.
"""

from __future__ import annotations

from typing import Any

from redis.asyncio import Redis

_HIT = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local burst = tonumber(ARGV[1])
local rate = tonumber(ARGV[2])
local state = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens = tonumber(state[1]) or burst
local at = tonumber(state[2]) or now
tokens = math.min(burst, tokens + math.max(0, now - at) * rate)
local wait = 0
if tokens >= 1 then tokens = tokens - 1 else wait = (1 - tokens) / rate end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'at', tostring(now))
redis.call('PEXPIRE', KEYS[1], math.ceil((burst - tokens) / rate * 1000) + 1000)
return tostring(wait)
"""

_CLAIM = """
if redis.call('SET', KEYS[1], '1', 'PX', ARGV[1], 'NX') then return '0' end
local left = redis.call('PTTL', KEYS[1])
if left < 0 then return '0' end
return tostring(left / 1000)
"""


class RedisThrottle:
    def __init__(self, redis: Redis, prefix: str = "fieldcast:") -> None:
        self.redis = redis
        self.prefix = prefix
        self._hit: Any = redis.register_script(_HIT)
        self._claim: Any = redis.register_script(_CLAIM)

    async def hit(self, key: str, burst: int, window_s: float) -> float:
        wait = await self._hit(keys=[self.prefix + key], args=[burst, burst / window_s])
        return float(wait)

    async def claim(self, key: str, seconds: float) -> float:
        if seconds <= 0:
            return 0.0
        wait = await self._claim(keys=[self.prefix + key], args=[max(1, int(seconds * 1000))])
        return float(wait)
