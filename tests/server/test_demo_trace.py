"""`fieldcast demo` shows the trust chain from its first start: the demo batch's journey is in the
signed log (checkpoint, events, server-side verification), the simulated truck follows the batch,
and the demo room's stream carries the batch's QR code and a sensor panel labelled simulated,
legible and clear of the other overlays in portrait 720x1280. A second start adds nothing."""

from __future__ import annotations

import asyncio
import json
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

from overlay.compose import _overlap
from server.cli import demo_app, ensure_demo_room
from server.features.demo_trace import GTIN, LOT
from server.features.trace_overlay import PANEL, QR
from server.http.keys import MEDIA
from streams.yuv import new_frame, plane_views
from tests.conftest import make_settings

pytestmark = [pytest.mark.timeout(90), pytest.mark.media]

ROOM = "demo-farm"


async def until(check: Callable[[], bool], limit_s: float) -> None:
    deadline = time.monotonic() + limit_s
    while not check():
        assert time.monotonic() < deadline, f"not within {limit_s} s"
        await asyncio.sleep(0.05)


def composite(room: Any) -> np.ndarray:
    frame = new_frame(room.width, room.height)
    planes = plane_views(frame)
    for _ in range(3):  # past the fades; each on a fresh picture, as the media thread composites
        planes[0][:], planes[1][:], planes[2][:] = 150, 110, 120  # a mid-grey field, like daylight
        room.compositor.composite(*planes, time.monotonic() + 1.0)
    return np.asarray(frame.to_ndarray(format="rgb24"))


async def test_the_demo_records_its_batch_journey_and_shows_it_on_the_stream(
    sqlite_url: str, aiohttp_client: Callable[..., Any], tmp_path: Path
) -> None:
    settings = make_settings(sqlite_url)
    await ensure_demo_room(settings)  # what `fieldcast demo` does before it serves
    client = await aiohttp_client(demo_app(settings, ROOM))

    checkpoint = await client.get("/api/trace/checkpoint")
    assert checkpoint.status == 200, await checkpoint.text()
    trail = await (await client.get(f"/api/trace/batches/{GTIN}/{LOT}")).json()
    events = [json.loads(e["body"]) for e in trail["events"]]
    steps = [(e["type"], e["bizStep"].rsplit(":", 1)[-1].rsplit("/", 1)[-1]) for e in events]
    assert steps == [("ObjectEvent", "commissioning"), ("ObjectEvent", "packing"), ("ObjectEvent", "storing"),
                     ("ObjectEvent", "loading"), ("AssociationEvent", "loading")], steps
    assert events[-1]["parentID"] == "urn:fieldcast:device:sim-truck"
    verdict = await (await client.get(f"/api/trace/batches/{GTIN}/{LOT}/verify")).json()
    assert verdict["verified"] and verdict["events"] == 5, verdict

    room = client.app[MEDIA].rooms[ROOM]
    assert room.height > room.width  # the demo room is portrait 720x1280
    qr, panel = room.compositor.get(QR), room.compositor.get(PANEL)
    assert qr is not None and panel is not None
    assert qr.state.modules and LOT in qr.state.detail
    # The simulator reports every 2 s; the panel follows within a second.
    await until(lambda: [e.value for e in panel.state.entries].count("—") == 0 and len(panel.state.entries) == 2, 10)
    labels = [e.label for e in panel.state.entries]
    assert labels == ["土壤湿度", "冷链车 温度"] and panel.state.simulated, panel.state
    assert panel.state.entries[1].value.endswith("°C") and panel.state.entries[0].value.endswith("%")
    # The truck's readings are the batch's cold-chain record (tied by the AssociationEvent).
    for _ in range(100):
        trail = await (await client.get(f"/api/trace/batches/{GTIN}/{LOT}")).json()
        if any(s["device"] == "sim-truck" and s["simulated"] and s["points"] for s in trail["sensors"]):
            break
        await asyncio.sleep(0.1)
    else:
        raise AssertionError(f"no truck readings on the batch: {trail.get('sensors')}")

    # What viewers see: the QR and the panel drawn, each clear of every other overlay.
    rgb = composite(room)
    out = Path(os.environ.get("FIELDCAST_SAVE_OVERLAYS") or tmp_path)
    Image.fromarray(rgb).save(out / "demo-portrait.png")
    size = (room.width, room.height)
    layers = [layer for layer in room.compositor.layers() if layer.visible and layer.box(size) is not None]
    moves = room.compositor.placements(layers)
    boxes = {}
    for layer in layers:
        x, y, w, h = layer.box(size)
        dx, dy = moves.get(layer.name, (0, 0))
        boxes[layer.name] = (x + dx, y + dy, w, h)
    assert QR in boxes and PANEL in boxes, boxes
    for name in (QR, PANEL):
        x, y, w, h = boxes[name]
        assert 0 <= x and x + w <= room.width and 0 <= y and y + h <= room.height, (name, boxes[name])
        clashes = [other for other, box in boxes.items() if other != name and _overlap(boxes[name], box)]
        assert not clashes, (name, boxes)
    # Legible: the QR code is at least 180 px across (a phone scans it off a screen), dark on white.
    x, y, w, h = boxes[QR]
    assert w >= 180
    card = rgb[y : y + h, x : x + w]
    assert (card > 235).all(axis=2).mean() > 0.3 and (card < 40).all(axis=2).mean() > 0.2
    await client.close()

    # A second start on the same database records nothing twice and keeps the overlay.
    again = await aiohttp_client(demo_app(settings, ROOM))
    trail = await (await again.get(f"/api/trace/batches/{GTIN}/{LOT}")).json()
    assert len(trail["events"]) == 5
    log = await (await again.get("/api/trace/log")).json()
    assert log["size"] == 5, log
    assert again.app[MEDIA].rooms[ROOM].compositor.get(QR).state.modules
