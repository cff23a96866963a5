"""Identity versions in Redis, so every node sees a sign-out, role or grant change at once."""

from __future__ import annotations

from redis.asyncio import Redis

from ..domain.accounts.grants import Subject

PREFIX = "fieldcast:identity:"


class RedisIdentityVersions:
    def __init__(self, redis: Redis) -> None:
        self.redis = redis

    async def current(self, subject: Subject) -> int:
        value = await self.redis.get(PREFIX + subject.key)
        return int(value) if value is not None else 0

    async def bump(self, subject: Subject) -> int:
        return int(await self.redis.incr(PREFIX + subject.key))
