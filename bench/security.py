"""Security figures, measured from outside against a real server (child process):

- signin_guesses_accepted_per_code: one sign-in code is requested, then GUESSES wrong codes are
  sent at once. Counted: the guesses the server actually checked against the code (answered
  with error `wrong_code`, or signed in) rather than turned away (expired, locked, throttled).
  The limit is 5 a code.
- whep_pending_sessions_max_per_ip: OFFERS WHEP offers from one address at once, each a real
  aiortc offer whose ICE never completes. Counted: the sessions the server took on (201) while
  none of them could connect: the most one address can hold pending (the configured cap).

Beside each, the amount over its limit (`*_over_limit`), which must be 0: a run that lets more
through than the configured limit fails `python -m bench`.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from dataclasses import dataclass

import aiohttp
from aiortc import RTCConfiguration, RTCPeerConnection

from server.config import Settings
from server.domain.accounts.sessions import CODE_ATTEMPTS

from .server_proc import start_server


@dataclass(frozen=True)
class Size:
    guesses: int
    offers: int


FULL = Size(guesses=200, offers=500)
SMOKE = Size(guesses=20, offers=40)
POSITIVE = ("signin_guesses_accepted_per_code", "whep_pending_sessions_max_per_ip")
ZERO = ("signin_guesses_over_limit", "whep_pending_sessions_over_cap")
IDENTIFIER = "bench-buyer@example.com"


async def _guesses(http: aiohttp.ClientSession, base: str, n: int) -> tuple[int, dict[str, int]]:
    async with http.post(f"{base}/api/auth/code", json={"identifier": IDENTIFIER}) as resp:
        assert resp.status in (200, 202), (resp.status, await resp.text())
    guesses = [f"{(i * 7919 + 13) % 1_000_000:06d}" for i in range(n)]

    async def guess(code: str) -> str:
        async with http.post(f"{base}/api/auth/code/verify", json={"identifier": IDENTIFIER, "code": code}) as resp:
            if resp.status == 200:
                return "signed in"
            body = await resp.json(content_type=None)
            return f"{resp.status} {body.get('error', '')}"

    answers = await asyncio.gather(*(guess(code) for code in guesses))
    kinds: dict[str, int] = {}
    for answer in answers:
        kinds[answer] = kinds.get(answer, 0) + 1
    # Checked against the code: signed in, or `wrong_code` (other refusals never compared it).
    checked = sum(1 for a in answers if a in ("signed in", "401 wrong_code"))
    return checked, kinds


async def _offer() -> str:
    pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
    pc.addTransceiver("video", direction="recvonly")
    pc.addTransceiver("audio", direction="recvonly")
    await pc.setLocalDescription(await pc.createOffer())
    sdp = str(pc.localDescription.sdp)
    await pc.close()  # nobody answers the server's connectivity checks: ICE never completes
    return sdp


async def _flood(http: aiohttp.ClientSession, base: str, room: str, n: int) -> tuple[int, dict[int, int], float]:
    offer = await _offer()

    async def one() -> int:
        async with http.post(f"{base}/whep/{room}", data=offer, headers={"Content-Type": "application/sdp"}) as resp:
            await resp.read()
            return resp.status

    started = time.monotonic()
    statuses = await asyncio.gather(*(one() for _ in range(n)))
    took = time.monotonic() - started
    counts: dict[int, int] = {}
    for status in statuses:
        counts[status] = counts.get(status, 0) + 1
    return counts.get(201, 0), counts, took


async def _run(base: str, guesses: int, offers: int) -> None:
    connector = aiohttp.TCPConnector(limit=100)
    async with aiohttp.ClientSession(connector=connector) as http:
        checked, kinds = await _guesses(http, base, guesses)
        print(f"  {guesses} guesses answered: {kinds}", file=sys.stderr)
        print(f"signin_guesses_accepted_per_code: {checked}", flush=True)
        print(f"signin_guesses_over_limit: {max(0, checked - CODE_ATTEMPTS)}", flush=True)
        accepted, counts, took = await _flood(http, base, "bench", offers)
        print(f"  {offers} WHEP offers in {took:.1f} s: {counts}", file=sys.stderr)
        print(f"whep_pending_sessions_max_per_ip: {accepted}", flush=True)
        cap = Settings().whep_max_sessions_per_ip
        print(f"whep_pending_sessions_over_cap: {max(0, accepted - cap)}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--smoke", action="store_true", help="a tiny run that checks the path works")
    size = SMOKE if parser.parse_args().smoke else FULL
    server, _ = start_server([("bench", [])], {"FIELDCAST_LOGIN_CODES_TO_LOG": "true"})
    try:
        asyncio.run(_run(server.base, size.guesses, size.offers))
    finally:
        server.stop()


if __name__ == "__main__":
    main()
