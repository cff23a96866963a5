"""`fieldcast serve` as operators run it: its own process and event loop (uvloop by default), a
demo room streamed to a WHEP viewer, Socket.IO joins and a broadcast on the same loop."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import aiohttp
import pytest
import socketio

from tests.helpers import watch

pytestmark = pytest.mark.timeout(90)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(params=["uvloop", "asyncio"])
def served(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[str, Path]]:
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("FIELDCAST_")}
    env.update(
        FIELDCAST_DATABASE_URL=f"sqlite:///{tmp_path / 'serve.db'}", FIELDCAST_PORT=str(port),
        FIELDCAST_HOST="127.0.0.1", FIELDCAST_ICE_INCLUDE_LOOPBACK="true", FIELDCAST_EVENT_LOOP=request.param,
    )
    subprocess.run([sys.executable, "-m", "server", "room", "create", "farm", "--title", "番茄地", "--demo"],
                   env=env, check=True, capture_output=True)
    log = tmp_path / "serve.log"
    with log.open("wb") as out:
        proc = subprocess.Popen([sys.executable, "-m", "server", "serve"], env=env, stdout=out, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while b"event loop:" not in log.read_bytes() or not _up(port):
            assert proc.poll() is None, log.read_text()
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.1)
        yield base, log
    finally:
        proc.terminate()
        proc.wait(15)


def _up(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0


async def test_serves_video_and_socketio_on_its_event_loop(served: tuple[str, Path], request: pytest.FixtureRequest) -> None:
    base, log = served
    loop_name = request.node.callspec.params["served"]
    assert f"event loop: {loop_name}" in log.read_text()
    async with aiohttp.ClientSession(base_url=base) as http:
        viewer = await watch(http, "farm")  # type: ignore[arg-type]
        try:
            await viewer.wait_frames(10, timeout=30)
            assert viewer.latest_rgb().shape == (1280, 720, 3)
            # Two Socket.IO clients in the room: the viewer count broadcast reaches both.
            clients = [socketio.AsyncClient(reconnection=False) for _ in range(2)]
            seen: list[asyncio.Queue[dict[str, object]]] = [asyncio.Queue(), asyncio.Queue()]
            for c, q in zip(clients, seen, strict=True):
                c.on("presence", q.put_nowait)
                await c.connect(base, transports=["websocket"])
                assert (await c.call("join", {"room": "farm"}, timeout=10))["ok"]
            await viewer.close()  # the WHEP viewer leaves: the count changes and is broadcast
            for q in seen:
                while (msg := await asyncio.wait_for(q.get(), 10))["viewers"] != 0:
                    pass
                assert msg["room"] == "farm"
            for c in clients:
                await c.disconnect()
        finally:
            await viewer.close()
