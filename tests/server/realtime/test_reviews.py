"""Reviews over Socket.IO and on the stream, with real clients per role and a real received order:
approval reaches the wall, the consoles, the author and the room's ticker (on this node and, through
Redis, on the node running the room); a take-down removes it everywhere."""

from __future__ import annotations

import asyncio
import secrets
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

from overlay.layers.testimonial_ticker import TestimonialTicker, ticker_box
from server.app import create_app
from server.domain.accounts.roles import Role
from server.features.testimonials import TICKER_LAYER
from server.http.keys import MEDIA, ROOMS
from server.media import open_live_room
from streams.yuv import new_frame, plane_views
from tests.commerce import Buyer, Shop, csrf, make_shop
from tests.conftest import make_settings
from tests.reviews import ROLES, account, jpeg, received_order, review_form
from tests.server.realtime.test_qa import Peer, connect

pytestmark = pytest.mark.timeout(120)

HOSTILE = "<img src=x onerror=alert(1)>"
MOD_EVENTS: list[tuple[str, Callable[[int], dict[str, Any]]]] = [
    ("reviews:queue", lambda _: {"status": "pending"}),
    ("review:reject", lambda rid: {"id": rid, "reason": "与商品无关"}),
    ("review:approve", lambda rid: {"id": rid}),
]


@dataclass
class Scene:
    shop: Shop
    accounts: dict[str, Buyer]
    peers: dict[str, Peer]


@pytest.fixture
async def scene(database_url: str, tmp_path: Path, aiohttp_client: Callable[..., Any]) -> AsyncIterator[Scene]:
    client = await aiohttp_client(create_app(make_settings(database_url, media_dir=tmp_path / "media")))
    shop = await make_shop(client)
    accounts = {"buyer": await account(shop, Role.VIEWER, "buyer")}
    accounts.update({name: await account(shop, role, name) for name, role in ROLES.items()})
    cookies: dict[str, str | None] = {"anonymous": None, **{n: b.cookie for n, b in accounts.items()}}
    peers = dict(zip(cookies, await asyncio.gather(*(connect(client, c, n) for n, c in cookies.items()))))
    try:
        yield Scene(shop, accounts, peers)
    finally:
        for peer in peers.values():
            await peer.sio.disconnect()


async def submit(scene: Scene, text: str = "番茄沙沙的，酸甜刚好", photos: int = 1) -> dict[str, Any]:
    shop, buyer = scene.shop, scene.accounts["buyer"]
    order_id = await received_order(shop, buyer)
    files = [(f"p{i}.jpg", jpeg((200, 40 + 60 * i, 40)), "image/jpeg") for i in range(photos)]
    resp = await shop.client.post("/api/reviews", data=review_form(order_id, 5, text, files),
                                  headers=await csrf(shop.client, buyer))
    assert resp.status == 201, await resp.text()
    review: dict[str, Any] = (await resp.json())["review"]
    return review


async def until(check: Callable[[], bool], timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError("timed out")
        await asyncio.sleep(0.02)


def composite(compositor: Any) -> np.ndarray:
    """A grey frame through the room's compositor once any fade has finished (RGB)."""
    frame = new_frame(compositor.width, compositor.height)
    y, u, v = plane_views(frame)
    now = time.monotonic()
    for t in (now, now + 5):
        y[:] = 120
        u[:] = 128
        v[:] = 128
        compositor.composite(y, u, v, t)
    rgb: np.ndarray = frame.to_ndarray(format="rgb24")
    return rgb


async def test_moderation_events_refuse_anonymous_viewers_and_kocs(scene: Scene) -> None:
    review_id = (await submit(scene))["id"]
    for event, payload in MOD_EVENTS:
        for name in ("anonymous", "viewer", "buyer", "koc"):
            reply = await scene.peers[name].call(event, payload(review_id))
            assert reply.get("error") == "forbidden", (name, event, reply)
        for name in ("moderator", "host", "operator"):
            reply = await scene.peers[name].call(event, payload(review_id))
            assert reply.get("ok"), (name, event, reply)
    bad = await scene.peers["moderator"].call("review:reject", {"id": review_id, "reason": ""})
    assert bad["error"] == "reason_required"
    assert (await scene.peers["moderator"].call("review:approve", {"id": 0}))["error"] == "invalid_input"
    assert (await scene.peers["moderator"].call("review:approve", {"id": 987654}))["error"] == "review_not_found"
    assert (await scene.peers["anonymous"].call("reviews:wall", {"room": "nowhere"}))["error"] == "not_found"


async def test_approval_reaches_the_wall_the_consoles_the_author_and_the_ticker(scene: Scene, tmp_path: Path) -> None:
    app = scene.shop.client.app
    room = await app[ROOMS].get(scene.shop.room)
    assert room is not None
    live = await open_live_room(app, room)
    await live.stop()  # its compositor is what we look at: the test's frames drive the fades
    ticker = live.compositor.get(TICKER_LAYER)
    assert isinstance(ticker, TestimonialTicker) and not ticker.visible, "installed in the room, hidden"
    before = composite(live.compositor)

    viewer, moderator, buyer = scene.peers["anonymous"], scene.peers["moderator"], scene.peers["buyer"]
    assert (await viewer.call("reviews:wall", {"room": scene.shop.room}))["reviews"] == []
    assert (await moderator.call("reviews:queue", {}))["reviews"] == []

    review = await submit(scene, text=HOSTILE + " 很新鲜 🍅")
    pending = await moderator.expect("review:pending", lambda d: d["id"] == review["id"])
    assert pending["status"] == "pending" and pending["text"] == HOSTILE + " 很新鲜 🍅"
    await viewer.settle()
    assert "review:approved" not in viewer.events and not ticker.visible

    reply = await moderator.call("review:approve", {"id": review["id"]})
    assert reply["ok"] and reply["review"]["status"] == "approved"
    shown = await viewer.expect("review:approved")
    assert shown["room"] == scene.shop.room and shown["review"]["text"] == HOSTILE + " 很新鲜 🍅"
    assert "user_id" not in shown["review"] and "order_id" not in shown["review"]
    assert (await buyer.expect("review:status"))["status"] == "approved"
    assert (await scene.peers["host"].call("reviews:queue", {"status": "approved"}))["reviews"][0]["id"] == review["id"]
    assert [r["id"] for r in (await viewer.call("reviews:wall", {"room": scene.shop.room}))["reviews"]] == [review["id"]]

    # The room's ticker now shows it: the review's own words and its photo's thumbnail.
    await until(lambda: ticker.visible)
    (item,) = ticker.state.items
    assert (item.nickname, item.rating, item.quote) == (pending["nickname"], 5, HOSTILE + " 很新鲜 🍅")
    thumb = await scene.shop.client.get(review["photos"][0]["thumb"])
    assert item.thumbnail == await thumb.read()

    after = composite(live.compositor)
    Image.fromarray(after).save(tmp_path / "ticker-frame.png")
    box = ticker_box((live.width, live.height))
    changed = np.argwhere(np.abs(after.astype(int) - before.astype(int)).max(axis=2) > 8)
    (y0, x0), (y1, x1) = changed.min(axis=0), changed.max(axis=0)
    assert (box.x <= x0 and box.y <= y0 and x1 < box.x + box.width and y1 < box.y + box.height), \
        "the frame changes where the ticker is, and nowhere else"
    assert x1 - x0 > box.width * 0.9 and y1 - y0 > box.height * 0.9
    # The thumbnail (reddish) is in the frame, inside the scrolling window.
    window = after[box.y : box.y + box.height, box.view_x : box.view_x + box.view_width].astype(int)
    assert ((window[..., 0] > 150) & (window[..., 1] < 110)).sum() > 1000

    # A take-down removes it from the wall and the stream.
    reply = await moderator.call("review:reject", {"id": review["id"], "reason": "照片不是本店商品"})
    assert reply["ok"]
    assert (await viewer.expect("review:removed")) == {"room": scene.shop.room, "id": review["id"]}
    status = await buyer.expect("review:status", lambda d: d["status"] == "rejected")
    assert status["reason"] == "照片不是本店商品"
    await until(lambda: not ticker.visible)
    assert (await viewer.call("reviews:wall", {"room": scene.shop.room}))["reviews"] == []


async def test_a_room_that_opens_later_shows_its_approved_reviews(scene: Scene) -> None:
    app = scene.shop.client.app
    review = await submit(scene, photos=0)
    assert (await scene.peers["operator"].call("review:approve", {"id": review["id"]}))["ok"]
    room = await app[ROOMS].get(scene.shop.room)
    assert room is not None
    live = await open_live_room(app, room)
    await live.stop()
    ticker = live.compositor.get(TICKER_LAYER)
    assert isinstance(ticker, TestimonialTicker)
    await until(lambda: ticker.visible)
    assert [i.quote for i in ticker.state.items] == ["番茄沙沙的，酸甜刚好"] and ticker.state.items[0].thumbnail is None


async def test_the_ticker_on_another_node_follows_through_redis(
    database_url: str, tmp_path: Path, aiohttp_client: Callable[..., Any]
) -> None:
    settings = make_settings(database_url, redis_url="redis://127.0.0.1:6379/0", media_dir=tmp_path / "media")
    node_a = await aiohttp_client(create_app(settings))
    node_b = await aiohttp_client(create_app(settings))
    # Redis channels are shared by every server on it (other tests too): a room of our own.
    room_id = f"farm-{secrets.token_hex(4)}"
    shop = await make_shop(node_a, room=room_id)
    room = await node_b.app[ROOMS].get(room_id)
    assert room is not None
    live = await open_live_room(node_b.app, room)  # the room's pipeline runs on node B
    await live.stop()
    assert room_id not in node_a.app[MEDIA].rooms
    ticker = live.compositor.get(TICKER_LAYER)
    assert isinstance(ticker, TestimonialTicker) and not ticker.visible

    buyer = await account(shop, Role.VIEWER, "buyer")
    order_id = await received_order(shop, buyer)
    resp = await node_a.post("/api/reviews", data=review_form(order_id, 4, "冷链到家还是凉的"),
                             headers=await csrf(node_a, buyer))
    review_id = (await resp.json())["review"]["id"]
    operator = {"Authorization": f"Bearer {shop.token}"}
    await shop.call("POST", f"/api/reviews/{review_id}/approve", status=200, headers=operator)
    await until(lambda: ticker.visible)
    assert [i.quote for i in ticker.state.items] == ["冷链到家还是凉的"]
    await shop.call("POST", f"/api/reviews/{review_id}/reject", {"reason": "重复"}, status=200, headers=operator)
    await until(lambda: not ticker.visible)
