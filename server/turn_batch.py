"""Calls made in the same event-loop turn, run together: one round trip for many callers."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

T = TypeVar("T")
R = TypeVar("R")


class TurnBatch(Generic[T, R]):
    """`await batch(item)` queues the item; once per loop turn `run(items)` handles every queued
    item (at most `limit` per call, in order) and returns one result per item, which is handed
    back to its caller. A result that is an exception is raised in that caller; if `run` itself
    raises, every caller of that call gets the exception. `send(item)` queues an item whose result
    nobody waits for."""

    def __init__(self, run: Callable[[list[T]], Awaitable[list[R | BaseException]]], limit: int = 1 << 30) -> None:
        self._run_batch = run
        self._limit = limit
        self._items: list[tuple[T, asyncio.Future[R] | None]] = []
        self._runner: asyncio.Task[None] | None = None

    async def __call__(self, item: T) -> R:
        future: asyncio.Future[R] = asyncio.get_running_loop().create_future()
        self._queue(item, future)
        return await future

    def send(self, item: T) -> None:
        """Queue an item for the next run without waiting for it (its result is dropped)."""
        self._queue(item, None)

    def _queue(self, item: T, future: asyncio.Future[R] | None) -> None:
        self._items.append((item, future))
        if self._runner is None or self._runner.done():
            self._runner = asyncio.ensure_future(self._run())

    async def _run(self) -> None:
        await asyncio.sleep(0)  # let this loop turn's callers join
        while self._items:
            batch, self._items = self._items[: self._limit], self._items[self._limit :]
            try:
                results = await self._run_batch([item for item, _ in batch])
            except Exception as exc:  # noqa: BLE001  (handed to every caller of the batch)
                results = [exc] * len(batch)
            for (_, future), result in zip(batch, results, strict=True):
                if future is None or future.done():
                    continue
                if isinstance(result, BaseException):
                    future.set_exception(result)
                else:
                    future.set_result(result)
