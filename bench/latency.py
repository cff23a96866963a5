"""first_frame_s (WHEP POST -> first decoded frame) and glass_to_glass_ms (publisher -> viewer).

A real server in a child process; the publisher stamps each frame with its number as a barcode,
the viewer reads it back from the decoded picture after the server's decode, composite and encode.

A join that sees no frame within FIRST_FRAME_TIMEOUT_S is counted (first_frame_timeouts, must be 0)
at that time in the percentiles instead of aborting the run: the other figures still come out and
the failure is named. (The one TimeoutError seen here came from running after bench.viewers in one
process, whose decoder patch then left this viewer nothing to decode; benchmarks now run in their
own processes and that patch is scoped. The server asks its encoder for a keyframe on each join and
each PLI, and the request stays pending until the rate limit lets it through; if that keyframe's
packets are lost past NACK repair, aiortc's receiver sends a PLI on the decode error, and x264
sends a keyframe every GOP anyway: once DTLS is up, a first frame is a rate limit, at worst a GOP, away.)
"""

from __future__ import annotations

import argparse
import asyncio
import math
import statistics
import time
from dataclasses import dataclass

import aiohttp

from .peers import StampedCamera, publish, read_stamp, watch
from .server_proc import start_server

FIRST_FRAME_TIMEOUT_S = 30.0


@dataclass(frozen=True)
class Size:
    joins: int
    glass_to_glass_s: float


FULL = Size(joins=10, glass_to_glass_s=10.0)
SMOKE = Size(joins=2, glass_to_glass_s=2.0)
POSITIVE = ("first_frame_s", "first_frame_s_p95", "glass_to_glass_ms_p50", "glass_to_glass_ms_p95", "glass_to_glass_frames")
ZERO = ("first_frame_timeouts",)


async def _first_frame(base: str, room: str, joins: int) -> tuple[list[float], int]:
    """Seconds from each WHEP POST to its first decoded frame, and how many joins saw none."""
    times, timeouts = [], 0
    async with aiohttp.ClientSession() as http:
        for _ in range(joins):
            got = asyncio.get_running_loop().create_future()
            started = time.monotonic()

            def on_frame(_frame: object, now: float) -> None:
                if not got.done():
                    got.set_result(now)

            pc, _ = await watch(http, base, room, on_frame, audio=False)
            try:
                times.append(await asyncio.wait_for(got, FIRST_FRAME_TIMEOUT_S) - started)
            except TimeoutError:
                timeouts += 1
                times.append(FIRST_FRAME_TIMEOUT_S)  # at least this long: it counts in the tail
            finally:
                await pc.close()
            await asyncio.sleep(0.7)  # past the keyframe rate limit: each join pays its own
    return times, timeouts


async def _glass_to_glass(base: str, room: str, key: str, seconds: float) -> list[float]:
    camera = StampedCamera()
    delays: list[float] = []
    stamped = asyncio.Event()
    async with aiohttp.ClientSession() as http:
        pub = await publish(http, base, room, key, camera)

        def on_frame(frame: object, now: float) -> None:
            sent = camera.sent.get(read_stamp(frame))  # type: ignore[arg-type]
            if sent is not None and 0 <= now - sent < 5:
                delays.append((now - sent) * 1000)
                stamped.set()

        viewer, _ = await watch(http, base, room, on_frame, audio=False)
        try:
            # The room has switched to the publisher once the viewer reads the camera's stamps.
            try:
                await asyncio.wait_for(stamped.wait(), FIRST_FRAME_TIMEOUT_S)
            except TimeoutError:
                raise SystemExit(f"glass to glass: the viewer read no stamped frame in {FIRST_FRAME_TIMEOUT_S:.0f} s") from None
            await asyncio.sleep(1.0)
            delays.clear()  # steady state only
            await asyncio.sleep(seconds)
        finally:
            await viewer.close()
            await pub.close()
    if not delays:
        raise SystemExit(f"glass to glass: no stamped frame reached the viewer in the {seconds:.0f} s measured")
    return delays


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--smoke", action="store_true", help="a tiny run that checks the path works")
    size = SMOKE if parser.parse_args().smoke else FULL
    server, keys = start_server([("demo-room", ["--demo"]), ("g2g", ["--orientation", "landscape"])])
    try:
        first, timeouts = asyncio.run(_first_frame(server.base, "demo-room", size.joins))
        first.sort()
        print(f"first_frame_s: {statistics.median(first):.3f}")
        print(f"first_frame_s_p95: {first[math.ceil(len(first) * 0.95) - 1]:.3f}")  # nearest rank
        print(f"first_frame_timeouts: {timeouts}")
        delays = asyncio.run(_glass_to_glass(server.base, "g2g", keys["g2g"], size.glass_to_glass_s))
        delays.sort()
        print(f"glass_to_glass_ms_p50: {statistics.median(delays):.0f}")
        print(f"glass_to_glass_ms_p95: {delays[int(len(delays) * 0.95)]:.0f}")
        print(f"glass_to_glass_frames: {len(delays)}")
    finally:
        server.stop()


if __name__ == "__main__":
    main()
