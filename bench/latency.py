"""first_frame_s (WHEP POST -> first decoded frame) and glass_to_glass_ms (publisher -> viewer).

A real server in a child process; the publisher stamps each frame with its number as a barcode,
the viewer reads it back from the decoded picture after the server's decode, composite and encode.
"""

from __future__ import annotations

import asyncio
import statistics
import time

import aiohttp

from .peers import StampedCamera, publish, read_stamp, watch
from .server_proc import start_server


async def _first_frame(base: str, room: str, joins: int) -> list[float]:
    times = []
    async with aiohttp.ClientSession() as http:
        for _ in range(joins):
            got = asyncio.get_running_loop().create_future()
            started = time.monotonic()

            def on_frame(_frame: object, now: float) -> None:
                if not got.done():
                    got.set_result(now)

            pc, _ = await watch(http, base, room, on_frame, audio=False)
            try:
                times.append(await asyncio.wait_for(got, 10) - started)
            finally:
                await pc.close()
            await asyncio.sleep(0.7)  # past the keyframe rate limit: each join pays its own
    return times


async def _glass_to_glass(base: str, room: str, key: str, seconds: float) -> list[float]:
    camera = StampedCamera()
    delays: list[float] = []
    async with aiohttp.ClientSession() as http:
        pub = await publish(http, base, room, key, camera)
        await asyncio.sleep(2.0)  # the room switches to the publisher

        def on_frame(frame: object, now: float) -> None:
            sent = camera.sent.get(read_stamp(frame))  # type: ignore[arg-type]
            if sent is not None and 0 <= now - sent < 5:
                delays.append((now - sent) * 1000)

        viewer, _ = await watch(http, base, room, on_frame, audio=False)
        await asyncio.sleep(2.0)
        delays.clear()  # steady state only
        await asyncio.sleep(seconds)
        await viewer.close()
        await pub.close()
    return delays


def main() -> None:
    server, keys = start_server([("demo-room", ["--demo"]), ("g2g", ["--orientation", "landscape"])])
    try:
        first = asyncio.run(_first_frame(server.base, "demo-room", 10))
        print(f"first_frame_s: {statistics.median(first):.3f}")
        print(f"first_frame_s_p95: {sorted(first)[int(len(first) * 0.95) - 1]:.3f}")
        delays = asyncio.run(_glass_to_glass(server.base, "g2g", keys["g2g"], 10.0))
        delays.sort()
        print(f"glass_to_glass_ms_p50: {statistics.median(delays):.0f}")
        print(f"glass_to_glass_ms_p95: {delays[int(len(delays) * 0.95)]:.0f}")
        print(f"glass_to_glass_frames: {len(delays)}")
    finally:
        server.stop()


if __name__ == "__main__":
    main()
