"""Orders over REST: priced by the server line by line, idempotent, refused clearly, nothing half-written."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from server.app import create_app
from server.domain.accounts.roles import Role
from tests.commerce import HOSTILE, Shop, commerce, csrf, key, make_buyers, make_shop, pickup
from tests.conftest import make_settings
from tests.helpers import add_room, staff_account

pytestmark = pytest.mark.timeout(60)


@pytest.fixture
async def shop(database_url: str, aiohttp_client: Callable[..., Any], tmp_path: Path) -> Shop:
    client = await aiohttp_client(create_app(make_settings(database_url, media_dir=tmp_path / "media")))
    return await make_shop(client)


@pytest.mark.both_loops
async def test_buyer_places_an_order_priced_line_by_line_and_a_retry_returns_the_first_answer(shop: Shop) -> None:
    buyer = (await make_buyers(shop.client, 1, shop.community["id"]))[0]
    headers = await csrf(shop.client, buyer)
    body = {"room_id": shop.room, "product_id": shop.product["id"], "quantity": 2, "delivery": pickup(shop),
            "idempotency_key": key()}
    first = await shop.client.post("/api/orders", json=body, headers=headers)
    assert first.status == 201, await first.text()
    order = (await first.json())["order"]
    assert order["total_fen"] == 2560 and order["state"] == "pending_payment"
    assert [line["kind"] for line in order["lines"]] == ["list"]
    assert order["timeline"][0]["state"] == "pending_payment"
    again = await shop.client.post("/api/orders", json=body, headers=headers)
    assert again.status == 200
    assert (await again.json()) == {"order": order, "created": False}
    # The same key with other content is refused, and nothing changes.
    other = await shop.client.post("/api/orders", json={**body, "quantity": 3}, headers=headers)
    assert other.status == 422 and (await other.json())["error"] == "idempotency_key_reused"
    assert await commerce(shop.client).orders.count() == 1
    product = await shop.call("GET", f"/api/products/{shop.product['id']}")
    assert product["stock"] == 498


async def test_a_client_sent_price_is_refused_and_a_stale_total_gets_price_changed(shop: Shop) -> None:
    buyer = (await make_buyers(shop.client, 1, shop.community["id"]))[0]
    headers = await csrf(shop.client, buyer)
    body = {"room_id": shop.room, "product_id": shop.product["id"], "quantity": 1, "delivery": pickup(shop),
            "idempotency_key": key()}
    tampered = await shop.client.post("/api/orders", json={**body, "unit_price_fen": 1}, headers=headers)
    assert tampered.status == 422
    stale = await shop.client.post("/api/orders", json={**body, "expected_total_fen": 1}, headers=headers)
    assert stale.status == 409 and (await stale.json())["error"] == "price_changed"
    ok = await shop.client.post("/api/orders", json={**body, "expected_total_fen": 1280}, headers=headers)
    assert ok.status == 201
    assert await commerce(shop.client).orders.count() == 1


@pytest.mark.parametrize("change, code, status", [
    ({"product_id": 999}, "not_on_sale", 400),
    ({"quantity": 0}, "bad_quantity", 400),
    ({"quantity": -3}, "bad_quantity", 400),
    ({"quantity": 100}, "bad_quantity", 400),
    ({"quantity": 99}, None, 201),  # the limit itself is allowed
    ({"delivery": {"fulfilment": "pickup", "pickup_point_id": 999, "contact_name": "李", "contact_phone": "13912345678"}}, "unknown_pickup_point", 404),
    ({"delivery": {"fulfilment": "pickup", "pickup_point_id": 1, "contact_name": "李", "contact_phone": "<script>"}}, "invalid_input", 400),
    ({"room_id": "nowhere"}, "not_on_sale", 400),
    ({"coupon_code": "NOPE99"}, "unknown_coupon", 404),
    ({"idempotency_key": "short"}, "invalid_input", 400),
    ({"idempotency_key": None}, "invalid_input", 400),
])
async def test_bad_orders_get_a_clear_code_and_write_nothing(shop: Shop, change: dict[str, Any], code: str | None, status: int) -> None:
    buyer = (await make_buyers(shop.client, 1, shop.community["id"]))[0]
    headers = await csrf(shop.client, buyer)
    body = {"room_id": shop.room, "product_id": shop.product["id"], "quantity": 1, "delivery": pickup(shop),
            "idempotency_key": key(), **change}
    resp = await shop.client.post("/api/orders", json=body, headers=headers)
    data = await resp.json()
    assert resp.status == status, data
    if code is not None:
        assert data["error"] == code and data["message"]
        assert await commerce(shop.client).orders.count() == 0
        assert (await shop.call("GET", f"/api/products/{shop.product['id']}"))["stock"] == 500


async def test_sold_out_when_the_quantity_exceeds_the_stock_and_nothing_is_taken(shop: Shop) -> None:
    await shop.call("POST", f"/api/products/{shop.product['id']}/stock", {"delta": -497}, status=200)
    buyer = (await make_buyers(shop.client, 1, shop.community["id"]))[0]
    headers = await csrf(shop.client, buyer)
    body = {"room_id": shop.room, "product_id": shop.product["id"], "quantity": 4, "delivery": pickup(shop), "idempotency_key": key()}
    resp = await shop.client.post("/api/orders", json=body, headers=headers)
    assert resp.status == 409 and (await resp.json())["error"] == "sold_out"
    assert (await shop.call("GET", f"/api/products/{shop.product['id']}"))["stock"] == 3
    # Taking more stock away than there is is refused too.
    resp = await shop.client.post(f"/api/products/{shop.product['id']}/stock", json={"delta": -4}, headers=shop.auth)
    assert resp.status == 409


async def test_hostile_text_stays_text(shop: Shop) -> None:
    buyer = (await make_buyers(shop.client, 1, shop.community["id"]))[0]
    headers = await csrf(shop.client, buyer)
    for text in HOSTILE:
        body = {"room_id": shop.room, "product_id": shop.product["id"], "quantity": 1, "idempotency_key": key(),
                "delivery": {**pickup(shop), "contact_name": text[:48]}}
        resp = await shop.client.post("/api/orders", json=body, headers=headers)
        data = await resp.json()
        if resp.status == 201:
            assert data["order"]["contact_name"] == " ".join(text[:48].replace("\u202e", "").split())[:24] or len(data["order"]["contact_name"]) <= 24
        else:
            assert resp.status == 400 and data["error"] == "invalid_input"
    made = await shop.call("POST", "/api/products", {"name_zh": HOSTILE[0], "unit": "1", "price_fen": 1, "stock": 1}, status=201)
    assert made["name_zh"] == "<img src=x onerror=alert(1)>"
    long = await shop.client.post("/api/products", json={"name_zh": HOSTILE[1][:200], "unit": "1", "price_fen": 1, "stock": 1}, headers=shop.auth)
    assert long.status == 400 and (await long.json())["error"] == "invalid_input"


async def test_who_may_call_what(shop: Shop, aiohttp_client: Callable[..., Any]) -> None:
    client = shop.client
    anonymous = await aiohttp_client(client.server)
    body = {"room_id": shop.room, "product_id": shop.product["id"], "quantity": 1, "delivery": pickup(shop), "idempotency_key": key()}
    assert (await anonymous.post("/api/orders", json=body)).status == 401
    assert (await anonymous.get("/api/orders")).status == 401
    await staff_account(client.app, "host@example.com", "host-pass-1", "主播", Role.HOST, (shop.room,))
    host = await aiohttp_client(client.server)
    login = await (await host.post("/api/auth/login", json={"identifier": "host@example.com", "password": "host-pass-1"})).json()
    h = {"X-CSRF-Token": login["csrf"]}
    viewer = (await make_buyers(client, 1, shop.community["id"]))[0]
    vh = await csrf(client, viewer)
    operator_only = [
        ("POST", "/api/products", {"name_zh": "x", "unit": "1", "price_fen": 1, "stock": 1}),
        ("POST", "/api/communities", {"name": "x", "leader_name": "y"}),
        ("POST", f"/api/rooms/{shop.room}/sessions", {}),
        ("GET", "/api/orders", None),
        ("GET", "/api/orders.csv", None),
        ("GET", "/api/pick-lists", None),
        ("POST", "/api/coupons", {"code": "LIVE10", "discount_fen": 100, "starts_at": "2026-01-01T00:00:00Z", "ends_at": "2027-01-01T00:00:00Z"}),
    ]
    for method, path, payload in operator_only:
        for who, headers in ((host, h), (client, vh)):
            resp = await who.request(method, path, json=payload, headers=headers)
            assert resp.status == 403, (method, path, resp.status)
    # Pinning needs the host role: a viewer is refused, the host may.
    assert (await client.post(f"/api/rooms/{shop.room}/pin", json={"product_id": shop.product["id"]}, headers=vh)).status == 403
    assert (await host.post(f"/api/rooms/{shop.room}/pin", json={"product_id": shop.product["id"]}, headers=h)).status == 200
    assert (await client.delete(f"/api/rooms/{shop.room}/pin", headers=vh)).status == 403
    assert (await host.delete(f"/api/rooms/{shop.room}/pin", headers=h)).status == 204
    # The studio page pins with the room's stream key (it publishes the room; OBS holds it too);
    # a wrong key, or another room's, is refused.
    other_room_key = await add_room(client, "other-farm")
    for bad in ("sk_wrong", other_room_key):
        refused = await anonymous.post(f"/api/rooms/{shop.room}/pin", json={"product_id": shop.product["id"]},
                                       headers={"Authorization": f"Bearer {bad}"})
        assert refused.status == 401 and "stream key" in (await refused.json())["message"]
    by_key = {"Authorization": f"Bearer {shop.stream_key}"}
    assert (await anonymous.post(f"/api/rooms/{shop.room}/pin", json={"product_id": shop.product["id"]}, headers=by_key)).status == 200
    assert (await anonymous.delete(f"/api/rooms/{shop.room}/pin", headers=by_key)).status == 204
    assert (await anonymous.delete("/api/rooms/no-such-room/pin", headers=by_key)).status == 404
    # Each pin keeps when it started and ended, for the replay.
    pins = await (await anonymous.get(f"/api/sessions/{shop.session['id']}/pins")).json()
    assert len(pins) == 2 and all(p["product_id"] == shop.product["id"] for p in pins)
    assert all(p["pinned_at"] <= p["unpinned_at"] for p in pins)
    # A viewer sees only their own orders.
    resp = await client.post("/api/orders", json=body, headers=vh)
    order_id = (await resp.json())["order"]["id"]
    other = (await make_buyers(client, 1, shop.community["id"], prefix="o"))[0]
    assert (await client.get(f"/api/orders/{order_id}", headers=other.headers)).status == 404
    assert (await client.get(f"/api/orders/{order_id}", headers=viewer.headers)).status == 200


async def test_openapi_documents_the_routes_from_the_handlers_models(shop: Shop) -> None:
    doc = await shop.call("GET", "/api/openapi.json")
    assert doc["openapi"].startswith("3.")
    create = doc["paths"]["/api/orders"]["post"]
    ref = create["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    schema = doc["components"]["schemas"][ref.rsplit("/", 1)[1]]
    assert "idempotency_key" in schema["properties"] and "unit_price_fen" not in schema["properties"]
    assert schema.get("additionalProperties") is False
    assert "/api/webhooks/payments/{provider}" in doc["paths"]
    assert "/api/orders.csv" in doc["paths"] and "/api/flash-claims/{claim_id}/claim" in doc["paths"]


async def test_community_price_and_a_live_coupon_are_explained_line_by_line_and_the_coupon_works_once(shop: Shop) -> None:
    await shop.call("PUT", f"/api/communities/{shop.community['id']}/prices/{shop.product['id']}", {"price_fen": 1180}, status=200)
    await shop.call("POST", "/api/coupons", {
        "code": "live10", "session_id": shop.session["id"], "discount_fen": 300, "min_spend_fen": 2000,
        "starts_at": "2026-01-01T00:00:00+08:00", "ends_at": "2099-01-01T00:00:00+08:00"}, status=201)
    buyer = (await make_buyers(shop.client, 1, shop.community["id"]))[0]
    headers = await csrf(shop.client, buyer)
    base = {"room_id": shop.room, "product_id": shop.product["id"], "delivery": pickup(shop)}
    small = await shop.client.post("/api/orders", json={**base, "quantity": 1, "coupon_code": "LIVE10", "idempotency_key": key()}, headers=headers)
    assert small.status == 400 and (await small.json())["error"] == "coupon_not_applicable"  # below the minimum spend
    quote = await (await shop.client.post("/api/orders/quote", json={**{k: base[k] for k in ("room_id", "product_id")}, "quantity": 2, "coupon_code": "live10"}, headers=headers)).json()
    assert [(line["kind"], line["amount_fen"]) for line in quote["lines"]] == [("list", 2560), ("community_price", -200), ("coupon", -300)]
    assert quote["total_fen"] == 2060 and quote["lines"][1]["label_zh"] == "阳光花园专享价 ¥11.8"
    ok = await shop.client.post("/api/orders", json={**base, "quantity": 2, "coupon_code": "live10", "idempotency_key": key(),
                                                      "expected_total_fen": 2060}, headers=headers)
    assert ok.status == 201 and (await ok.json())["order"]["total_fen"] == 2060
    again = await shop.client.post("/api/orders", json={**base, "quantity": 2, "coupon_code": "LIVE10", "idempotency_key": key()}, headers=headers)
    assert again.status == 409 and (await again.json())["error"] == "coupon_used"
    assert await commerce(shop.client).orders.count() == 1


async def test_pick_lists_add_up_what_each_pickup_point_needs(shop: Shop) -> None:
    second = await shop.call("POST", f"/api/communities/{shop.community['id']}/pickup-points", {"name": "东门", "address": "东门岗亭"}, status=201)
    buyers = await make_buyers(shop.client, 3, shop.community["id"])
    for buyer, point, quantity in ((buyers[0], shop.point["id"], 2), (buyers[1], shop.point["id"], 3), (buyers[2], second["id"], 1)):
        resp = await shop.client.post("/api/orders", headers=await csrf(shop.client, buyer), json={
            "room_id": shop.room, "product_id": shop.product["id"], "quantity": quantity, "idempotency_key": key(),
            "delivery": {**pickup(shop), "pickup_point_id": point}})
        assert resp.status == 201
    lists = await shop.call("GET", f"/api/pick-lists?session_id={shop.session['id']}", status=200)
    assert [(p["pickup_point_name"], p["lines"][0]["quantity"], p["lines"][0]["orders"]) for p in lists] == [("3号楼驿站", 5, 2), ("东门", 1, 1)]
    only_east = await shop.call("GET", f"/api/orders?pickup_point_id={second['id']}", status=200)
    assert len(only_east) == 1 and only_east[0]["quantity"] == 1


async def test_operators_upload_product_photos_kept_as_plain_jpegs(shop: Shop, tmp_path: Path) -> None:
    import io

    from PIL import Image

    picture = Image.new("RGB", (2400, 1200), (200, 40, 40))
    exif = Image.Exif()
    exif[0x010F] = "SecretCam"  # Make: must not survive
    raw = io.BytesIO()
    picture.save(raw, "JPEG", exif=exif)
    made = await shop.call("POST", f"/api/products/{shop.product['id']}/photos", data=raw.getvalue(), status=201)
    url = made["photos"][-1]
    assert url.startswith("/media/products/") and url.endswith(".jpg")
    resp = await shop.client.get(url)
    assert resp.status == 200
    kept = Image.open(io.BytesIO(await resp.read()))
    assert kept.format == "JPEG" and max(kept.size) == 1080 and not kept.getexif()
    not_a_photo = await shop.client.post(f"/api/products/{shop.product['id']}/photos", data=b"<svg onload=alert(1)>", headers=shop.auth)
    assert not_a_photo.status == 400 and (await not_a_photo.json())["error"] == "invalid_input"
    buyer = (await make_buyers(shop.client, 1, shop.community["id"]))[0]
    refused = await shop.client.post(f"/api/products/{shop.product['id']}/photos", data=raw.getvalue(), headers=await csrf(shop.client, buyer))
    assert refused.status == 403
    assert (await shop.client.get("/media/products/" + "0" * 64 + ".jpg")).status == 404


async def test_orders_written_in_one_batch_read_back_as_they_were_answered(shop: Shop) -> None:
    """A flash claim's winners are written together (on PostgreSQL one statement from arrays):
    each order, its price lines, its empty fields and its first timeline entry come back as built."""
    from datetime import UTC, datetime

    from server.domain.commerce.orders import Fulfilment, OrderDraft, PaymentMethod
    from server.domain.commerce.pricing import PriceLine
    from server.http.keys import DATABASE
    from server.persistence.commerce_orders import insert_orders

    buyers = await make_buyers(shop.client, 3, shop.community["id"])
    lines = (PriceLine("list", "原价", "List price", 1280), PriceLine("flash_claim", "限量尝鲜价", "Trial price", -1180))
    drafts = [
        OrderDraft(
            user_id=b.user_id, idempotency_key=key(), request_hash=f"h{i}", session_id=shop.session["id"], room_id=shop.room,
            product_id=shop.product["id"], product_name_zh="高山有机番茄", product_name_en="Highland organic tomatoes",
            quantity=1, unit_base_fen=1280, unit_price_fen=100, total_fen=100, lines=lines[: i + 1],
            fulfilment=Fulfilment.DELIVERY if i == 2 else Fulfilment.PICKUP,
            community_id=shop.community["id"] if i else None, pickup_point_id=None if i == 2 else shop.point["id"],
            delivery_address="阳光花园3号楼 🍅 1201" if i == 2 else "", contact_name=f"邻居{i}", contact_phone="13912345678",
            payment_method=PaymentMethod.PAY_AT_PICKUP,
        )
        for i, b in enumerate(buyers)
    ]
    now = datetime.now(UTC)
    db = shop.client.app[DATABASE]
    async with db.engine.begin() as conn:
        written = await insert_orders(conn, drafts, now=now, stock_applied=False)
    assert [o.draft for o in written] == drafts and len({o.id for o in written}) == 3
    orders = commerce(shop.client).orders
    for order in written:
        stored = await orders.get(order.id)
        assert stored is not None
        assert stored.draft == order.draft and stored.state == order.state
        assert [(e.state, e.at) for e in stored.timeline] == [(e.state, e.at) for e in order.timeline]
    products, _, _ = await orders.unapplied()  # written as taken in Redis, not yet applied in SQL
    assert products == {shop.product["id"]: 3} and await orders.count() == 3
