"""viewer_marginal_cpu: extra server CPU seconds per second for each WHEP viewer.

A real server (child process) runs a 720p30 room at 2.5 Mbps, fed by a detailed moving picture
from a WHIP publisher in this process; N aiortc viewers, also in this process, watch it. The
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

from .peers import StampedCamera, publish, watch
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


async def _video_kbps(http: aiohttp.ClientSession, base: str) -> float:
    async def sent() -> int:
        async with http.get(f"{base}/healthz") as resp:
            return int((await resp.json())["rooms"]["bench"]["video_bytes_out"])

    a = await sent()
    await asyncio.sleep(2)
    return (await sent() - a) * 8 / 2 / 1000


async def _run(base: str, key: str, pid: int, rounds: int) -> tuple[list[float], float]:
    proc = psutil.Process(pid)
    marginals = []
    kbps = 0.0
    async with aiohttp.ClientSession() as http:
        publisher = await publish(http, base, "bench", key, StampedCamera())
        await asyncio.sleep(4)  # the room is on the publisher and settled
        kbps = await _video_kbps(http, base)
        for _ in range(rounds):
            idle = await _window(proc)
            viewers = [await watch(http, base, "bench") for _ in range(N_VIEWERS)]
            await asyncio.sleep(3)
            loaded = await _window(proc)
            marginals.append((loaded - idle) / N_VIEWERS)
            print(f"  idle {idle:.3f} cpu-s/s, {N_VIEWERS} viewers {loaded:.3f} cpu-s/s", file=sys.stderr)
            await asyncio.gather(*(pc.close() for pc, _ in viewers))
            await asyncio.sleep(3)
        await publisher.close()
    return marginals, kbps


def main() -> None:
    # Every viewer here comes from one address, and each round's closed viewers linger on the
    # server until ICE notices: lift the per-address WHEP cap (FIELDCAST_WHEP_MAX_SESSIONS_PER_IP).
    server, keys = start_server([("bench", ["--orientation", "landscape"])],
                                {"FIELDCAST_WHEP_MAX_SESSIONS_PER_IP": "1000"})
    try:
        marginals, kbps = asyncio.run(_run(server.base, keys["bench"], server.proc.pid, 3))
        print(f"viewer_marginal_cpu: {statistics.median(marginals):.4f}")
        print(f"viewer_stream_video_kbps: {kbps:.0f}")
    finally:
        server.stop()


if __name__ == "__main__":
    main()
