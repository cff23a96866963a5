"""Presence over Socket.IO: a real python-socketio client sees the viewer count change."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import pytest
import socketio
from aiohttp.test_utils import TestClient

from server.app import create_app
from server.http.keys import ROOMS
from server.media import open_live_room
from tests.conftest import make_settings
from tests.helpers import add_room, watch

pytestmark = pytest.mark.timeout(60)


@pytest.fixture
async def client(sqlite_url: str, aiohttp_client: Callable[..., Any]) -> TestClient:
    return await aiohttp_client(create_app(make_settings(sqlite_url)))


async def test_join_reports_presence_and_updates_when_a_viewer_arrives(client: TestClient) -> None:
    await add_room(client, "farm", demo=True)
    sio = socketio.AsyncClient()
    updates: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    sio.on("presence", lambda data: updates.put_nowait(data))
    await sio.connect(str(client.make_url("/")), transports=["websocket"])
    try:
        bad = await sio.call("join", {"room": "<script>"})
        assert bad["error"] == "invalid_input"
        missing = await sio.call("join", {"room": "nowhere"})
        assert missing["error"] == "not_found"
        reply = await sio.call("join", {"room": "farm"})
        assert reply["ok"] is True and reply["presence"]["room"] == "farm"
        viewer = await watch(client, "farm")
        try:
            while True:
                update = await asyncio.wait_for(updates.get(), 10)
                if update["viewers"] == 1:
                    break
            assert update == {"room": "farm", "viewers": 1, "live": True, "publishing": False}  # the demo camera is on air
        finally:
            await viewer.close()
    finally:
        await sio.disconnect()


async def test_live_and_viewers_mean_the_same_in_health_the_room_api_and_presence(client: TestClient) -> None:
    # `live`: viewers see a programme (the host, or the demo camera; not the stand-by slate);
    # `publishing`: a host is sending; `viewers`: media players receiving the picture (WHEP).
    await add_room(client, "farm", demo=True)
    sio = socketio.AsyncClient()
    updates: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    sio.on("presence", lambda data: updates.put_nowait(data))
    await sio.connect(str(client.make_url("/")), transports=["websocket"])
    viewer = await watch(client, "farm")
    try:
        assert (await sio.call("join", {"room": "farm"}))["ok"] is True
        while (update := await asyncio.wait_for(updates.get(), 10))["viewers"] != 1:
            pass
        health = (await (await client.get("/healthz")).json())["rooms"]["farm"]
        room = await (await client.get("/api/rooms/farm")).json()
        said = {"live": True, "publishing": False, "viewers": 1}
        assert {k: update[k] for k in said} == said
        assert {k: room[k] for k in said} == said
        assert {k: health[k] for k in said} == said
    finally:
        await viewer.close()
        await sio.disconnect()


async def test_joining_an_open_demo_room_before_anyone_watches_says_it_is_live(client: TestClient) -> None:
    await add_room(client, "farm", demo=True)
    room = await client.app[ROOMS].get("farm")
    assert room is not None
    await open_live_room(client.app, room)  # as at start-up: the demo camera is on air, nobody watches
    sio = socketio.AsyncClient()
    await sio.connect(str(client.make_url("/")), transports=["websocket"])
    try:
        reply = await sio.call("join", {"room": "farm"})
        listed = await (await client.get("/api/rooms/farm")).json()
        assert reply["presence"] == {"room": "farm", "viewers": 0, "live": True, "publishing": False}
        assert listed["live"] is True and listed["viewers"] == 0
    finally:
        await sio.disconnect()
