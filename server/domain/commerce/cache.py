"""A small read-through cache with a time limit, for what thousands of buyers read at once during a
flash claim (the claim, its product, the session, a community). Correctness never depends on it:
units are counted by SQL or Redis; a cached name or window is at most `ttl_s` old.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Hashable
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class TtlCache(Generic[K, V]):
    def __init__(self, load: Callable[[K], Awaitable[V]], ttl_s: float = 2.0, max_items: int = 10_000) -> None:
        self._load = load
        self.ttl_s = ttl_s
        self.max_items = max_items
        self._items: dict[K, tuple[float, V]] = {}
        # One load per key at a time: a thousand callers missing together share it.
        self._loading: dict[K, asyncio.Future[V]] = {}

    async def get(self, key: K) -> V:
        now = time.monotonic()
        hit = self._items.get(key)
        if hit is not None and now - hit[0] < self.ttl_s:
            return hit[1]
        pending = self._loading.get(key)
        if pending is not None:
            return await asyncio.shield(pending)
        future: asyncio.Future[V] = asyncio.get_running_loop().create_future()
        self._loading[key] = future
        try:
            value = await self._load(key)
        except BaseException as exc:
            future.set_exception(exc)
            future.exception()  # retrieved: nobody else may be waiting
            raise
        finally:
            self._loading.pop(key, None)
        future.set_result(value)
        if len(self._items) >= self.max_items:
            self._items.clear()
        self._items[key] = (now, value)
        return value

    def forget(self, key: K) -> None:
        self._items.pop(key, None)

    def clear(self) -> None:
        self._items.clear()
