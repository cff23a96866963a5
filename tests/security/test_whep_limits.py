"""WHEP offers that never finish ICE: capped per address and per room, dropped after a deadline,
and never counted as viewers (the LIVE badge and presence count only viewers whose media flows).

Real aiortc offers against a running app; the flood reuses one gathered offer, as an attacker would.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp
import psutil
import pytest
from aiohttp.test_utils import TestClient
from aiortc import RTCConfiguration, RTCPeerConnection

from server.app import create_app
from server.http.keys import MEDIA
from tests.conftest import make_settings
from tests.helpers import add_room, watch

pytestmark = [pytest.mark.media, pytest.mark.timeout(90)]

SDP = {"Content-Type": "application/sdp"}


async def a_real_offer() -> str:
    """A complete offer from a real aiortc peer that will never answer the server's ICE checks."""
    pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
    pc.addTransceiver("video", direction="recvonly")
    pc.addTransceiver("audio", direction="recvonly")
    await pc.setLocalDescription(await pc.createOffer())
    sdp = pc.localDescription.sdp
    await pc.close()  # its sockets go: the server's connectivity checks get no answer
    return str(sdp)


def open_sockets() -> list[Any]:
    """This process's TCP and UDP sockets (not the database's files, whose pool may grow)."""
    return list(psutil.Process().net_connections(kind="inet"))


async def viewers_shown(client: TestClient, room: str) -> int:
    return int((await (await client.get(f"/api/rooms/{room}")).json())["viewers"])


async def until(condition: Callable[[], Awaitable[bool]], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not await condition():
        assert time.monotonic() < deadline, what
        await asyncio.sleep(0.05)


@pytest.fixture
async def client(sqlite_url: str, aiohttp_client: Callable[..., Any]) -> TestClient:
    settings = make_settings(sqlite_url, whep_max_sessions_per_ip=5, whep_connect_timeout_s=1.5)
    return await aiohttp_client(create_app(settings))


async def test_offer_flood_is_capped_per_address_dropped_after_deadline_and_never_counted(client: TestClient) -> None:
    await add_room(client, "farm", demo=True)
    viewer = await watch(client, "farm")  # a real viewer, whose media flows
    try:
        await viewer.wait_frames(5, timeout=20)
        async def counted() -> bool:
            return await viewers_shown(client, "farm") == 1

        await until(counted, 10, "the real viewer is counted")

        offer = await a_real_offer()
        sockets = len(open_sockets())  # the server is this process: its sockets count here
        # Its own HTTP connections, each closed after its answer: the only sockets left are the server's.
        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(force_close=True)) as flood:
            answers = await asyncio.gather(*(
                flood.post(client.make_url("/whep/farm"), data=offer, headers=SDP) for _ in range(40)))
            for answer in answers:
                await answer.read()
        statuses = [r.status for r in answers]
        # The real viewer holds one of this address's 5 places; the flood gets the other 4.
        assert statuses.count(201) == 4, statuses
        assert statuses.count(429) == 36, statuses
        refused = next(r for r in answers if r.status == 429)
        assert int(refused.headers["Retry-After"]) >= 1
        assert json.loads(await refused.read())["error"] == "too_many_sessions"
        pending = [r.headers["Location"] for r in answers if r.status == 201]

        # Offers that never finished ICE are nobody watching.
        assert await viewers_shown(client, "farm") == 1
        # ... and are gone once the deadline passes: their URLs are unknown, the places free again.
        media = client.app[MEDIA]

        async def dropped() -> bool:
            return len(media.sessions) == 1

        await until(dropped, 10, "pending sessions dropped")
        # ... and so are their sockets (each pending peer held several).
        async def sockets_closed() -> bool:
            return len(open_sockets()) <= sockets

        await until(sockets_closed, 10, f"sockets back to {sockets}: {open_sockets()}")
        for location in pending:
            assert (await client.delete(location)).status == 404
        again = await client.post("/whep/farm", data=offer, headers=SDP)
        assert again.status == 201, await again.text()
        # The real viewer was never disturbed.
        await viewer.wait_frames(10)
        assert viewer.pc.connectionState == "connected"
        assert await viewers_shown(client, "farm") == 1
    finally:
        await viewer.close()


async def test_room_cap_refuses_offers_past_the_rooms_limit(sqlite_url: str, aiohttp_client: Callable[..., Any]) -> None:
    settings = make_settings(sqlite_url, whep_max_sessions_per_room=3, whep_connect_timeout_s=30)
    client = await aiohttp_client(create_app(settings))
    await add_room(client, "farm", demo=True)
    await add_room(client, "barn", demo=True)
    offer = await a_real_offer()
    statuses = [(await client.post("/whep/farm", data=offer, headers=SDP)).status for _ in range(5)]
    assert statuses == [201, 201, 201, 429, 429]
    # Another room has its own places.
    assert (await client.post("/whep/barn", data=offer, headers=SDP)).status == 201

