"""viewer_marginal_cpu: extra server CPU seconds per second for each WHEP viewer.

A real server (child process) runs a 720p30 room; N aiortc viewers in this process watch it. The
viewers receive, decrypt and depacketise everything but skip decoding (a stand-in decoder), so this
process does not starve the server of the machine's two cores. Server CPU comes from /proc.
"""

from __future__ import annotations

import asyncio
import statistics
import sys

import aiohttp
import aiortc.rtcrtpreceiver
import psutil
from aiortc.codecs.base import Decoder

from .peers import watch
from .server_proc import start_server

N_VIEWERS = 20
WINDOW_S = 8.0


class _NoDecode(Decoder):
    def decode(self, encoded_frame):  # type: ignore[no-untyped-def]
        return []


aiortc.rtcrtpreceiver.get_decoder = lambda codec: _NoDecode()  # type: ignore[assignment]


def _cpu(proc: psutil.Process) -> float:
    t = proc.cpu_times()
    return t.user + t.system


async def _window(proc: psutil.Process) -> float:
    start = _cpu(proc)
    await asyncio.sleep(WINDOW_S)
    return (_cpu(proc) - start) / WINDOW_S


async def _packet_rate(pc) -> float:  # type: ignore[no-untyped-def]
    async def received() -> int:
        stats = await pc.getStats()
        return sum(s.packetsReceived for s in stats.values() if s.type == "inbound-rtp" and s.kind == "video")

    a = await received()
    await asyncio.sleep(2)
    return (await received() - a) / 2


async def _run(base: str, pid: int, rounds: int) -> tuple[list[float], float]:
    proc = psutil.Process(pid)
    marginals = []
    rate = 0.0
    async with aiohttp.ClientSession() as http:
        await asyncio.sleep(3)  # the room is running and settled
        for _ in range(rounds):
            idle = await _window(proc)
            viewers = [await watch(http, base, "bench") for _ in range(N_VIEWERS)]
            await asyncio.sleep(3)
            rate = await _packet_rate(viewers[0][0])
            loaded = await _window(proc)
            marginals.append((loaded - idle) / N_VIEWERS)
            print(f"  idle {idle:.3f} cpu-s/s, {N_VIEWERS} viewers {loaded:.3f} cpu-s/s", file=sys.stderr)
            await asyncio.gather(*(pc.close() for pc, _ in viewers))
            await asyncio.sleep(3)
    return marginals, rate


def main() -> None:
    server, _ = start_server([("bench", ["--demo", "--orientation", "landscape"])])
    try:
        marginals, rate = asyncio.run(_run(server.base, server.proc.pid, 3))
        print(f"viewer_marginal_cpu: {statistics.median(marginals):.4f}")
        print(f"viewer_video_packets_per_s: {rate:.0f}")
    finally:
        server.stop()


if __name__ == "__main__":
    main()
