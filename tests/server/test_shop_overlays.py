"""The shop on the stream: pinning a product, an order and a flash claim reach the room's layers
within 500 ms, and the composited frame shows them."""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

from server.app import create_app
from server.features.shop_overlays import BARS, CARD, COUNTDOWN
from server.http.keys import MEDIA, ROOMS
from server.media import open_live_room
from streams.yuv import new_frame, plane_views
from tests.commerce import csrf, key, make_buyers, make_shop, pickup
from tests.conftest import make_settings

pytestmark = [pytest.mark.timeout(60), pytest.mark.media]


async def until(check: Callable[[], bool], limit_s: float) -> float:
    started = time.monotonic()
    while not check():
        if time.monotonic() - started > limit_s:
            raise AssertionError(f"not within {limit_s * 1000:.0f} ms")
        await asyncio.sleep(0.01)
    return time.monotonic() - started


async def test_pin_order_and_claim_show_on_the_stream_within_500_ms(sqlite_url: str, aiohttp_client: Callable[..., Any]) -> None:
    client = await aiohttp_client(create_app(make_settings(sqlite_url)))
    shop = await make_shop(client)
    room = await open_live_room(client.app, await client.app[ROOMS].get(shop.room))
    card, bars, countdown = (room.compositor.get(n) for n in (CARD, BARS, COUNTDOWN))
    assert card is not None and bars is not None and countdown is not None
    await asyncio.sleep(0.2)
    assert not card.visible and not bars.visible

    await shop.call("POST", f"/api/rooms/{shop.room}/pin", {"product_id": shop.product["id"]}, status=200)
    took = await until(lambda: card.visible and card.state.name == "高山有机番茄", 0.5)

    await shop.call("POST", f"/api/sessions/{shop.session['id']}/group-buys", {
        "product_id": shop.product["id"], "community_ids": [shop.community["id"]],
        "tiers": [{"buyers": 2, "discount_fen": 100}], "deadline": (datetime.now(UTC) + timedelta(hours=1)).isoformat()},
        status=201)
    buyer = (await make_buyers(client, 1, shop.community["id"]))[0]
    resp = await client.post("/api/orders", headers=await csrf(client, buyer), json={
        "room_id": shop.room, "product_id": shop.product["id"], "quantity": 2, "delivery": pickup(shop), "idempotency_key": key()})
    assert resp.status == 201
    took = max(took, await until(lambda: bars.visible and bars.state.bars and bars.state.bars[0].buyers == 1, 0.5))
    assert card.state.stock == 498 or await until(lambda: card.state.stock == 498, 0.5) < 0.5

    now = datetime.now(UTC)
    await shop.call("POST", f"/api/sessions/{shop.session['id']}/flash-claims", {
        "product_id": shop.product["id"], "price_fen": 100, "quantity": 50, "per_buyer_limit": 1,
        "starts_at": (now - timedelta(seconds=1)).isoformat(), "ends_at": (now + timedelta(minutes=5)).isoformat()}, status=201)
    took = max(took, await until(lambda: countdown.visible and countdown.state.phase == "live", 0.5))
    assert countdown.state.remaining == 50 and 290 <= countdown.state.seconds <= 300

    # What viewers see: composite one frame and look at it.
    frame = new_frame(room.width, room.height)
    planes = plane_views(frame)
    planes[0][:] = 90
    planes[1][:] = 110
    planes[2][:] = 120
    for _ in range(3):
        room.compositor.composite(*planes, time.monotonic() + 1.0)
    rgb = frame.to_ndarray(format="rgb24")
    out = os.environ.get("FIELDCAST_SAVE_OVERLAYS")
    if out:
        Image.fromarray(rgb).save(Path(out) / "room-portrait.png")
    # The card's panel is dark glass over the right column (portrait): darker than the backdrop.
    x0 = room.width // 2 + 40
    assert np.asarray(rgb[300:360, x0 : x0 + 100]).mean() < np.asarray(rgb[700:760, 300:400]).mean()
    assert took < 0.5
    await client.app[MEDIA].close_room(shop.room)
