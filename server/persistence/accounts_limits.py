"""Sign-in attempt counts in Redis: the same rule as the in-process `MemoryAttemptLimiter`
(server/domain/accounts/limits.py), shared by every node.

Each attempt is one Lua script run (atomic, one round trip) on Redis's own clock, so nodes with
drifting clocks agree; a key expires once its count would be forgotten anyway.
"""

from __future__ import annotations

from typing import Any

from redis.asyncio import BlockingConnectionPool, Redis

from ..domain.accounts.limits import Limit

_TAKE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local tries = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
local lock = tonumber(ARGV[3])
local max_lock = tonumber(ARGV[4])
local state = redis.call('HMGET', KEYS[1], 'count', 'locked')
local count = tonumber(state[1]) or 0
local locked = tonumber(state[2]) or 0
if now < locked then return tostring(locked - now) end
count = count + 1
if count >= tries then locked = now + math.min(max_lock, lock * 2 ^ math.min(count - tries, 40)) end
redis.call('HSET', KEYS[1], 'count', tostring(count), 'locked', tostring(locked))
redis.call('PEXPIRE', KEYS[1], math.ceil((math.max(now, locked) - now + window) * 1000))
return '0'
"""

_GIVE_BACK = """
local count = tonumber(redis.call('HGET', KEYS[1], 'count') or '0')
if count > 0 then redis.call('HSET', KEYS[1], 'count', tostring(count - 1)) end
return count
"""


# A burst of sign-in attempts waits for one of these connections (each script run takes well under
# a millisecond) instead of failing: redis-py's default pool raises past 100 connections in use.
POOL_CONNECTIONS = 32
POOL_WAIT_S = 5.0


class RedisAttemptLimiter:
    def __init__(self, redis: Redis, prefix: str = "fieldcast:signin:") -> None:
        self.redis = redis
        self.prefix = prefix
        self._take: Any = redis.register_script(_TAKE)
        self._give_back: Any = redis.register_script(_GIVE_BACK)

    @classmethod
    def from_url(cls, url: str, prefix: str = "fieldcast:signin:") -> RedisAttemptLimiter:
        pool = BlockingConnectionPool.from_url(url, max_connections=POOL_CONNECTIONS, timeout=POOL_WAIT_S)
        return cls(Redis.from_pool(pool), prefix)

    async def close(self) -> None:
        await self.redis.aclose()

    async def take(self, key: str, limit: Limit) -> float:
        wait = await self._take(
            keys=[self.prefix + key], args=[limit.tries, limit.window_s, limit.lock_s, limit.max_lock_s]
        )
        return float(wait)

    async def give_back(self, key: str) -> None:
        await self._give_back(keys=[self.prefix + key])

    async def clear(self, key: str) -> None:
        await self.redis.delete(self.prefix + key)
