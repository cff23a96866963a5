"""Keyframes on demand: joins and PLIs close together share forced keyframes (at most one per
window), and nothing is forced without a request."""

from __future__ import annotations

import asyncio

import pytest

from streams.options import MediaOptions
from streams.room import LiveRoom, RoomSpec

pytestmark = pytest.mark.timeout(30)


async def test_requests_within_the_window_share_one_keyframe() -> None:
    options = MediaOptions(width=320, height=240, keyframe_interval_s=30.0, keyframe_min_interval_s=0.5)
    room = LiveRoom(RoomSpec("kf", "title", "brand", demo=True), options, asyncio.get_running_loop())
    keyframes: list[float] = []
    publish = room.video.publish_many

    def counting(packets):  # type: ignore[no-untyped-def]
        keyframes.extend(asyncio.get_running_loop().time() for _, key, _ in packets if key)
        publish(packets)

    room.video.publish_many = counting  # type: ignore[method-assign]
    room.start()
    try:
        await asyncio.sleep(1.0)  # past the first (start-up) keyframe
        keyframes.clear()
        for _ in range(5):  # five viewers joining within 100 ms
            room.request_keyframe()
            await asyncio.sleep(0.02)
        await asyncio.sleep(0.9)
        # The first join gets one at once; the four after it (they missed it) share the next,
        # which waits out the 0.5 s window: two keyframes for five joins, never closer than 0.5 s.
        assert len(keyframes) == 2, keyframes
        assert keyframes[1] - keyframes[0] >= 0.45
        await asyncio.sleep(1.0)
        assert len(keyframes) == 2  # nothing more without asking (the interval is 30 s)
        room.request_keyframe()
        await asyncio.sleep(0.3)
        assert len(keyframes) == 3
    finally:
        await room.stop()
