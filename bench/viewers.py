"""viewer_marginal_cpu: extra server CPU seconds per second for each WHEP viewer.

A real server (child process) runs a 720p30 room at 2.5 Mbps, fed by a detailed moving picture
from a WHIP publisher in this process; N aiortc viewers, also in this process, watch it. The
viewers receive, decrypt and depacketise everything but skip decoding (a stand-in decoder), so this
process does not starve the server of the machine's two cores. Server CPU comes from /proc.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import statistics
import sys
from collections.abc import Iterator
from dataclasses import dataclass

import aiohttp
import aiortc.rtcrtpreceiver
import psutil
from aiortc.codecs.base import Decoder

from .peers import StampedCamera, publish, watch
from .server_proc import start_server


@dataclass(frozen=True)
class Size:
    viewers: int
    window_s: float
    rounds: int
    settle_s: float  # after the publisher starts, after the viewers join, after they leave


FULL = Size(viewers=20, window_s=8.0, rounds=3, settle_s=3.0)
SMOKE = Size(viewers=2, window_s=1.0, rounds=1, settle_s=0.5)
# The per-viewer CPU itself can come out at or under 0 at the smoke size (two viewers inside the
# server's own noise); the stream's bitrate cannot, unless the room stopped sending.
POSITIVE = ("viewer_stream_video_kbps",)


class _NoDecode(Decoder):
    def decode(self, encoded_frame):  # type: ignore[no-untyped-def]
        return []


@contextlib.contextmanager
def _no_decoding() -> Iterator[None]:
    """aiortc receivers made meanwhile skip decoding. Scoped, and undone after: a module-level
    patch here once left every later benchmark in the same process (bench.latency) without a
    single decoded frame."""
    real = aiortc.rtcrtpreceiver.get_decoder
    aiortc.rtcrtpreceiver.get_decoder = lambda codec: _NoDecode()  # type: ignore[assignment]
    try:
        yield
    finally:
        aiortc.rtcrtpreceiver.get_decoder = real


def _cpu(proc: psutil.Process) -> float:
    t = proc.cpu_times()
    return t.user + t.system


async def _window(proc: psutil.Process, seconds: float) -> float:
    start = _cpu(proc)
    await asyncio.sleep(seconds)
    return (_cpu(proc) - start) / seconds


async def _video_kbps(http: aiohttp.ClientSession, base: str) -> float:
    async def sent() -> int:
        async with http.get(f"{base}/healthz") as resp:
            return int((await resp.json())["rooms"]["bench"]["video_bytes_out"])

    a = await sent()
    await asyncio.sleep(2)
    return (await sent() - a) * 8 / 2 / 1000


async def _run(base: str, key: str, pid: int, size: Size) -> tuple[list[float], float]:
    proc = psutil.Process(pid)
    marginals = []
    kbps = 0.0
    async with aiohttp.ClientSession() as http:
        publisher = await publish(http, base, "bench", key, StampedCamera())
        await asyncio.sleep(size.settle_s + 1)  # the room is on the publisher and settled
        kbps = await _video_kbps(http, base)
        for _ in range(size.rounds):
            idle = await _window(proc, size.window_s)
            viewers = [await watch(http, base, "bench") for _ in range(size.viewers)]
            await asyncio.sleep(size.settle_s)
            loaded = await _window(proc, size.window_s)
            marginals.append((loaded - idle) / size.viewers)
            print(f"  idle {idle:.3f} cpu-s/s, {size.viewers} viewers {loaded:.3f} cpu-s/s", file=sys.stderr)
            await asyncio.gather(*(pc.close() for pc, _ in viewers))
            await asyncio.sleep(size.settle_s)
        await publisher.close()
    return marginals, kbps


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--smoke", action="store_true", help="a tiny run that checks the path works")
    size = SMOKE if parser.parse_args().smoke else FULL
    # Every viewer here comes from one address, and each round's closed viewers linger on the
    # server until ICE notices: lift the per-address WHEP cap (FIELDCAST_WHEP_MAX_SESSIONS_PER_IP).
    server, keys = start_server([("bench", ["--orientation", "landscape"])],
                                {"FIELDCAST_WHEP_MAX_SESSIONS_PER_IP": "1000"})
    try:
        with _no_decoding():
            marginals, kbps = asyncio.run(_run(server.base, keys["bench"], server.proc.pid, size))
        print(f"viewer_marginal_cpu: {statistics.median(marginals):.4f}")
        print(f"viewer_stream_video_kbps: {kbps:.0f}")
    finally:
        server.stop()


if __name__ == "__main__":
    main()
