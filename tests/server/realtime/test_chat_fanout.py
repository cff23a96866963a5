"""The chat fan-out on a hand-written stand-in for the Socket.IO server: when emits happen, and how many."""

from __future__ import annotations

import asyncio
from typing import Any

from server.realtime.chat_fanout import ChatFanout


class FakeManager:
    def __init__(self) -> None:
        self.rooms: dict[str, dict[str, dict[str, str]]] = {"/": {}}

    def seat(self, room_id: str, viewers: int) -> None:
        self.rooms["/"][f"room:{room_id}"] = {f"sid{i}": f"eio{i}" for i in range(viewers)}


class FakeSio:
    def __init__(self, emit_s: float = 0.0) -> None:
        self.manager = FakeManager()
        self.emitted: list[tuple[str, dict[str, Any], str, float]] = []
        self.emit_s = emit_s

    async def emit(self, event: str, data: dict[str, Any], room: str) -> None:
        self.emitted.append((event, data, room, asyncio.get_running_loop().time()))
        await asyncio.sleep(self.emit_s)


def message(i: int) -> dict[str, Any]:
    return {"id": i, "text": f"m{i}"}


async def test_a_quiet_rooms_message_leaves_at_once_and_a_burst_shares_one_emit() -> None:
    sio = FakeSio()
    fanout = ChatFanout(sio, window_s=0.5)
    started = asyncio.get_running_loop().time()
    fanout.message("farm", message(1))
    await asyncio.sleep(0.05)
    assert len(sio.emitted) == 1 and sio.emitted[0][3] - started < 0.1
    for i in range(2, 12):
        fanout.message("farm", message(i))
    await asyncio.sleep(0.1)
    assert len(sio.emitted) == 1, "the window holds the burst"
    await asyncio.sleep(0.5)
    assert len(sio.emitted) == 2
    event, data, room, at = sio.emitted[1]
    assert (event, room) == ("chat:messages", "room:farm")
    assert [m["id"] for m in data["messages"]] == list(range(2, 12))
    assert at - sio.emitted[0][3] >= 0.49
    fanout.message("orchard", message(99))
    await asyncio.sleep(0.05)
    assert sio.emitted[-1][2] == "room:orchard", "rooms have their own windows"
    await fanout.close()


async def test_the_window_grows_with_the_rooms_audience() -> None:
    sio = FakeSio()
    fanout = ChatFanout(sio, window_s=0.1, per_viewer_s=0.0002)
    sio.manager.seat("farm", 100)
    assert fanout.window("farm") == 0.1
    sio.manager.seat("farm", 2000)
    assert abs(fanout.window("farm") - 0.4) < 1e-9
    assert fanout.window("empty") == 0.1


async def test_a_slow_emit_grows_the_next_batch_instead_of_queueing_emits() -> None:
    sio = FakeSio(emit_s=0.5)
    fanout = ChatFanout(sio, window_s=0.0)
    fanout.message("farm", message(1))
    await asyncio.sleep(0.05)
    for i in range(2, 50):
        fanout.message("farm", message(i))
    await asyncio.sleep(0.05)
    assert len(sio.emitted) == 1, "still writing the first"
    await asyncio.sleep(0.6)
    assert [len(e[1]["messages"]) for e in sio.emitted] == [1, 48]
    await fanout.close()


async def test_a_removal_goes_out_at_once_and_a_queued_message_it_names_never_does() -> None:
    sio = FakeSio()
    fanout = ChatFanout(sio, window_s=0.3)
    fanout.message("farm", message(1))
    await asyncio.sleep(0.05)
    fanout.message("farm", message(2))
    fanout.message("farm", message(3))
    await fanout.removed("farm", [2])
    assert sio.emitted[-1][:3] == ("chat:removed", {"room": "farm", "ids": [2]}, "room:farm")
    await asyncio.sleep(0.4)
    assert [m["id"] for m in sio.emitted[-1][1]["messages"]] == [3]
    await fanout.close()
