"""TurnBatch: calls made in one loop turn are run together, results and errors go to their callers."""

from __future__ import annotations

import asyncio

import pytest

from server.turn_batch import TurnBatch


async def test_one_turns_calls_run_together_in_order_within_the_limit() -> None:
    runs: list[list[int]] = []

    async def run(items: list[int]) -> list[int | BaseException]:
        runs.append(items)
        return [ValueError(i) if i == 3 else i * 10 for i in items]

    batch: TurnBatch[int, int] = TurnBatch(run, limit=4)
    results = await asyncio.gather(*(batch(i) for i in range(6)), return_exceptions=True)
    assert runs == [[0, 1, 2, 3], [4, 5]]
    assert results[:3] == [0, 10, 20] and isinstance(results[3], ValueError) and results[4:] == [40, 50]
    assert await batch(7) == 70 and runs[-1] == [7]


async def test_a_failed_run_fails_each_of_its_callers() -> None:
    async def run(items: list[int]) -> list[int | BaseException]:
        raise ConnectionError("gone")

    batch: TurnBatch[int, int] = TurnBatch(run)
    for outcome in await asyncio.gather(batch(1), batch(2), return_exceptions=True):
        assert isinstance(outcome, ConnectionError)
    with pytest.raises(ConnectionError):
        await batch(3)


async def test_sent_items_join_the_same_runs_in_order_without_anyone_waiting() -> None:
    runs: list[list[int]] = []

    async def run(items: list[int]) -> list[int | BaseException]:
        runs.append(items)
        return [ValueError(i) if i == 1 else i for i in items]

    batch: TurnBatch[int, int] = TurnBatch(run)
    batch.send(0)
    batch.send(1)  # its error is dropped: nobody is waiting for it
    assert await batch(2) == 2
    assert runs == [[0, 1, 2]]
    batch.send(3)
    await asyncio.sleep(0.01)
    assert runs == [[0, 1, 2], [3]]
