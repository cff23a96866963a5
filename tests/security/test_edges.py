"""Bodies and ids at the edge: what is not JSON, JSON nested deeper than anything we take, and
numbers no column can hold get a clear 4xx, never a 500 with a traceback (black-box over HTTP)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from server.app import create_app
from tests.commerce import Shop, csrf, key, make_buyers, make_shop, pickup
from tests.conftest import make_settings

pytestmark = pytest.mark.timeout(60)

HUGE = "99999999999999999999999"
JSON = {"Content-Type": "application/json"}


@pytest.fixture
async def shop(database_url: str, aiohttp_client: Callable[..., Any], tmp_path: Path) -> Shop:
    client = await aiohttp_client(create_app(make_settings(database_url, media_dir=tmp_path / "media")))
    return await make_shop(client)


def nested(depth: int) -> str:
    return "[" * depth + "]" * depth


@pytest.mark.parametrize("depth", [40, 1_000, 100_000])
async def test_deeply_nested_json_is_a_400_before_any_account_is_needed(shop: Shop, depth: int) -> None:
    resp = await shop.client.post("/api/auth/login", data=nested(depth), headers=JSON)
    assert resp.status == 400, await resp.text()
    assert "nested too deeply" in (await resp.json())["message"]
    inside = '{"identifier": ' + nested(depth) + ', "password": "x"}'
    resp = await shop.client.post("/api/auth/login", data=inside, headers=JSON)
    assert resp.status == 400, await resp.text()


async def test_a_body_not_sent_as_json_is_a_415_that_says_so(shop: Shop) -> None:
    body = json.dumps({"identifier": "a@example.com", "password": "whatever-1"})
    # What an HTML form on another site can send without asking first.
    for ctype in ("text/plain", "application/x-www-form-urlencoded", None):
        headers = {"Content-Type": ctype} if ctype else {}
        resp = await shop.client.post("/api/auth/login", data=body.encode(), headers=headers)
        assert resp.status == 415, (ctype, await resp.text())
        reply = await resp.json()
        assert reply["error"] == "unsupported_media_type"
        assert "application/json" in reply["message"]
    # Declared JSON, the body is read as before (a wrong password is a 401, not a 415).
    resp = await shop.client.post("/api/auth/login", data=body, headers={"Content-Type": "application/json; charset=utf-8"})
    assert resp.status == 401


@pytest.mark.parametrize("field", ["product_id", "quantity"])
async def test_integers_beyond_any_column_in_a_body_are_a_400(shop: Shop, field: str) -> None:
    buyer = (await make_buyers(shop.client, 1, shop.community["id"]))[0]
    headers = {**await csrf(shop.client, buyer), **JSON}
    order = {"room_id": shop.room, "product_id": shop.product["id"], "quantity": 1, "delivery": pickup(shop),
             "idempotency_key": key()}
    raw = json.dumps(order).replace(f'"{field}": {order[field]}', f'"{field}": {HUGE}')
    assert HUGE in raw
    resp = await shop.client.post("/api/orders", data=raw, headers=headers)
    assert resp.status == 400, await resp.text()
    lone = json.dumps(order).replace('"pickup"', '"\\ud800"')
    resp = await shop.client.post("/api/orders", data=lone, headers=headers)
    assert resp.status == 400, await resp.text()


async def test_ids_beyond_any_column_in_the_path_are_a_404(shop: Shop) -> None:
    buyer = (await make_buyers(shop.client, 1, shop.community["id"]))[0]
    headers = await csrf(shop.client, buyer)
    for path in (f"/api/orders/{HUGE}", f"/api/trace/entries/{HUGE}", f"/api/trace/checkpoint/{HUGE}",
                 f"/api/products/{HUGE}", "/api/trace/entries/" + "9" * 5000):
        resp = await shop.client.get(path, headers=headers)
        assert resp.status == 404, (path[:60], resp.status, await resp.text())
        assert (await resp.json())["error"]
    resp = await shop.client.post(f"/api/orders/{HUGE}/cancel", headers=headers)
    assert resp.status == 404, await resp.text()
    resp = await shop.client.get("/api/orders/abc", headers=headers)
    assert resp.status == 400
    resp = await shop.client.get(f"/api/trace/batches/06901234567892/LOT/qr.png?size={'9' * 5000}")
    assert resp.status in (200, 404)


async def test_ids_beyond_any_column_in_a_query_are_refused_not_a_500(shop: Shop) -> None:
    for path in (f"/api/orders?session_id={HUGE}", f"/api/orders?community_id={HUGE}",
                 f"/api/orders.csv?pickup_point_id={HUGE}", f"/api/pick-lists?session_id={HUGE}",
                 f"/api/rooms/{shop.room}/moderation-log?before={HUGE}"):
        resp = await shop.client.get(path, headers=shop.auth)
        assert resp.status == 422, (path, resp.status, await resp.text())
        assert (await resp.json())["error"] == "invalid_input"
