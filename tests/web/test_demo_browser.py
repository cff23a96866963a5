"""The demo as a newcomer meets it, in real Chromium: the demo batch's trace page verifies itself,
and on a phone the viewer page leaves the picture's own overlays (LIVE badge, group-buy, flash
claim, product card, sensors, QR code) uncovered by the page's own controls."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestServer

from overlay.compose import _overlap
from server.cli import demo_app, ensure_demo_room
from server.features.demo_trace import GTIN, LOT
from server.features.shop_overlays import BARS, CARD, COUNTDOWN
from server.features.trace_overlay import PANEL, QR
from server.http.keys import MEDIA
from tests.conftest import make_settings

from .conftest import open_page

pytestmark = [pytest.mark.browser, pytest.mark.media]

ROOM = "demo-farm"
PHONE_412 = {"width": 412, "height": 860}
# What the page itself draws over the stage.
PAGE_CONTROLS = ("#live-pill", "#viewers", ".host-chip", "#lang", "#sound", ".tabs")


@pytest.fixture
async def server(sqlite_url: str, aiohttp_server: Callable[..., Any]) -> TestServer:
    settings = make_settings(sqlite_url)
    await ensure_demo_room(settings)  # as `fieldcast demo` does before it serves
    srv: TestServer = await aiohttp_server(demo_app(settings, ROOM))
    return srv


def shots() -> Path | None:
    out = os.environ.get("FIELDCAST_SAVE_SCREENSHOTS")
    return Path(out) if out else None


async def test_the_demo_batch_trace_page_verifies_in_the_browser(server: TestServer, browser: Any) -> None:
    page = await open_page(browser, str(server.make_url(f"/01/{GTIN}/10/{LOT}")), viewport=PHONE_412)
    await page.wait_for_function("window.fieldcastTrace && window.fieldcastTrace.verdict", timeout=15000)
    verdict = await page.evaluate("window.fieldcastTrace.verdict")
    assert verdict["ok"], verdict["steps"]
    inclusions = [s for s in verdict["steps"] if s["step"] == "inclusion"]
    assert len(inclusions) == 5 and all(s["ok"] for s in inclusions), inclusions
    out = shots()
    if out:
        await page.screenshot(path=str(out / "demo-trace-412.png"), full_page=True)
    assert page.errors == []


def stream_boxes(server: TestServer) -> dict[str, tuple[int, int, int, int]]:
    """Where each of the picture's own overlays is, in frame pixels, after the compositor's flow."""
    room = server.app[MEDIA].rooms[ROOM]
    size = (room.width, room.height)
    drawn = {layer.name: (layer, box) for layer in room.compositor.layers()
             if layer.visible and (box := layer.box(size)) is not None}
    moves = room.compositor.placements([layer for layer, _ in drawn.values()])
    boxes = {}
    for name, (_, (x, y, w, h)) in drawn.items():
        dx, dy = moves.get(name, (0, 0))
        boxes[name] = (x + dx, y + dy, w, h)
    return boxes


async def test_on_a_phone_the_page_leaves_the_pictures_overlays_uncovered(server: TestServer, browser: Any) -> None:
    page = await open_page(browser, str(server.make_url(f"/r/{ROOM}")), viewport=PHONE_412)
    await page.wait_for_function("window.fieldcastViewer && window.fieldcastViewer.state === 'playing'", timeout=15000)
    await page.wait_for_function("document.getElementById('video').videoWidth > 0", timeout=10000)
    await page.wait_for_selector("#sound", state="visible", timeout=5000)  # muted autoplay: the sound pill shows
    assert await page.text_content("#live-pill") == "直播", "still there for screen readers"
    out = shots()
    if out:
        await page.screenshot(path=str(out / "demo-viewer-412x860.png"))

    # The picture as drawn: the video element's box, fitted (object-fit: contain) to 720x1280.
    box = await page.evaluate("""() => {
        const v = document.getElementById('video'), r = v.getBoundingClientRect();
        const s = Math.min(r.width / v.videoWidth, r.height / v.videoHeight);
        return {x: r.x + (r.width - v.videoWidth * s) / 2, y: r.y + (r.height - v.videoHeight * s) / 2, s};
    }""")
    overlays = {name: (box["x"] + x * box["s"], box["y"] + y * box["s"], w * box["s"], h * box["s"])
                for name, (x, y, w, h) in stream_boxes(server).items()}
    assert {"live-badge", "demo-caption", BARS, COUNTDOWN, CARD, QR, PANEL, "lower-third"} <= set(overlays), overlays

    controls = await page.evaluate("""(selectors) => selectors.map((sel) => {
        const el = document.querySelector(sel);
        const r = el.getBoundingClientRect();
        // Not painted: hidden, or the 1px visually-hidden box kept for screen readers.
        const painted = el.getClientRects().length > 0 && r.width > 1 && r.height > 1;
        return [sel, painted ? [r.x, r.y, r.width, r.height] : null];
    })""", list(PAGE_CONTROLS))
    drawn = {sel: rect for sel, rect in controls if rect is not None}
    assert "#sound" in drawn and ".host-chip" in drawn, drawn
    clashes = [(sel, name) for sel, rect in drawn.items() for name, over in overlays.items() if _overlap(tuple(rect), over)]
    assert not clashes, {"clashes": clashes, "page": drawn, "picture": overlays}
    assert page.errors == []
