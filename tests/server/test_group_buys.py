"""Group-buys end to end: buyers pay the current tier's price, progress reaches the room live,
settlement at the deadline refunds each order exactly once, even when cut short and resumed."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp
import pytest
from sqlalchemy import update

from bench.sio_lite import LiteClient
from server.app import create_app
from server.domain.commerce.orders import PaymentMethod
from server.domain.commerce.settlement import Settlement
from server.integrations.payments.test_provider import SIGNATURE_HEADER, sign
from server.persistence.commerce_tables import GroupBuyRow
from tests.commerce import Shop, commerce, csrf, key, make_buyers, make_shop, pickup
from tests.conftest import make_settings

pytestmark = pytest.mark.timeout(90)
SECRET = "whsec-test-1"


@pytest.fixture
async def shop(database_url: str, aiohttp_client: Callable[..., Any]) -> Shop:
    client = await aiohttp_client(create_app(make_settings(database_url, test_payments_secret=SECRET)))
    shop = await make_shop(client, price_fen=2000)
    # Settlement is driven by hand here (the background loop would race the test's "crash").
    commerce(client).background["settlement"].cancel()
    return shop


async def open_pool(shop: Shop, tiers: list[tuple[int, int]], rule: str = "ship_at_list") -> dict[str, Any]:
    pools = await shop.call("POST", f"/api/sessions/{shop.session['id']}/group-buys", {
        "product_id": shop.product["id"], "community_ids": [shop.community["id"]],
        "tiers": [{"buyers": b, "discount_fen": d} for b, d in tiers],
        "deadline": (datetime.now(UTC) + timedelta(hours=1)).isoformat(), "failure_rule": rule}, status=201)
    return pools[0]  # type: ignore[no-any-return]


async def buy(shop: Shop, buyer: Any, quantity: int = 1, method: str = "test") -> dict[str, Any]:
    resp = await shop.client.post("/api/orders", headers=await csrf(shop.client, buyer), json={
        "room_id": shop.room, "product_id": shop.product["id"], "quantity": quantity, "delivery": pickup(shop),
        "payment_method": method, "idempotency_key": key()})
    assert resp.status == 201, await resp.text()
    return (await resp.json())["order"]  # type: ignore[no-any-return]


async def pay(shop: Shop, order: dict[str, Any], event_id: str | None = None) -> aiohttp.ClientResponse:
    body = json.dumps({"id": event_id or f"evt_{order['id']}", "type": "payment.succeeded",
                       "order_id": order["id"], "amount_fen": order["due_fen"]}).encode()
    return await shop.client.post("/api/webhooks/payments/test", data=body,
                                  headers={SIGNATURE_HEADER: sign(SECRET, body), "Content-Type": "application/json"})


async def close_pool(shop: Shop, pool_id: int) -> None:
    db = commerce(shop.client).db
    async with db.session() as s:
        await s.execute(update(GroupBuyRow).where(GroupBuyRow.id == pool_id).values(deadline=datetime.now(UTC) - timedelta(seconds=1)))
        await s.commit()


async def test_buyers_pay_the_tier_reached_when_they_order(shop: Shop) -> None:
    pool = await open_pool(shop, [(3, 100), (5, 300)])
    buyers = await make_buyers(shop.client, 6, shop.community["id"])
    paid = [(await buy(shop, b))["unit_price_fen"] for b in buyers]
    # Buyers 1-3 see fewer than 3 neighbours in; from the 4th the first tier holds, from the 6th the second.
    assert paid == [2000, 2000, 2000, 1900, 1900, 1700]
    view = await shop.call("GET", f"/api/group-buys/{pool['id']}")
    assert (view["buyers"], view["discount_fen"], view["missing"], view["unlocked"]) == (6, 300, 0, True)
    # The same neighbour buying again does not count twice.
    await buy(shop, buyers[0])
    assert (await shop.call("GET", f"/api/group-buys/{pool['id']}"))["buyers"] == 6


async def test_settlement_cut_short_resumes_and_refunds_each_order_exactly_once(shop: Shop) -> None:
    pool = await open_pool(shop, [(3, 100), (5, 300)])
    buyers = await make_buyers(shop.client, 5, shop.community["id"])
    orders = [await buy(shop, b, quantity=2) for b in buyers]
    for o in orders:
        assert (await pay(shop, o)).status == 200
    await close_pool(shop, pool["id"])
    c = commerce(shop.client)
    real = c.providers[PaymentMethod.TEST]

    class Crash(Exception):
        pass

    class CrashesAfterSecondRefund:
        """Sends the money, then the process "dies" before the refund is marked done."""

        method = PaymentMethod.TEST
        calls = 0

        async def refund(self, order_id: int, refund_id: str, amount_fen: int, *, paid: bool) -> Any:
            receipt = await real.refund(order_id, refund_id, amount_fen, paid=paid)
            self.calls += 1
            if self.calls == 2:
                raise Crash
            return receipt

        def verify_webhook(self, body: bytes, headers: Any) -> Any:
            return real.verify_webhook(body, headers)

    crashing = Settlement(c.group_buys, c.orders, {**c.providers, PaymentMethod.TEST: CrashesAfterSecondRefund()},
                          c.placement, c.clock)
    with pytest.raises(Crash):
        await crashing.settle(pool["id"])
    assert len(await c.ledger.all()) == 2
    # "Restart": a fresh settlement with the real provider finishes the job; a third run does nothing.
    await c.settlement.settle_due()
    await c.settlement.settle(pool["id"])
    ledger = await c.ledger.all()
    # 5 buyers reach the 300 fen tier: each paid (2000 - tier at the time) per unit, 2 units.
    expected = {f"gb{pool['id']}-o{o['id']}": (o["unit_price_fen"] - 1700) * 2 for o in orders}
    expected = {k: v for k, v in expected.items() if v}
    assert {r.refund_id: r.amount_fen for r in ledger} == expected
    for o in orders:
        stored = await c.orders.require(o["id"])
        assert stored.refunded_fen == expected.get(f"gb{pool['id']}-o{o['id']}", 0)
    assert (await shop.call("GET", f"/api/group-buys/{pool['id']}"))["state"] == "settled"


async def test_a_failed_pool_with_refund_all_refunds_and_returns_the_stock(shop: Shop) -> None:
    pool = await open_pool(shop, [(3, 100)], rule="refund_all")
    buyers = await make_buyers(shop.client, 2, shop.community["id"])
    paid = await buy(shop, buyers[0], quantity=3)
    assert (await pay(shop, paid)).status == 200
    unpaid = await buy(shop, buyers[1], quantity=1, method="pay_at_pickup")
    await close_pool(shop, pool["id"])
    c = commerce(shop.client)
    await c.settlement.settle_due()
    assert [(r.refund_id, r.amount_fen) for r in await c.ledger.all()] == [(f"gb{pool['id']}-o{paid['id']}", 6000)]
    assert (await c.orders.require(paid["id"])).state.value == "refunded"
    assert (await c.orders.require(unpaid["id"])).state.value == "cancelled"
    assert (await shop.call("GET", f"/api/products/{shop.product['id']}"))["stock"] == 500


async def test_webhooks_are_verified_and_a_redelivery_changes_nothing(shop: Shop) -> None:
    buyer = (await make_buyers(shop.client, 1, shop.community["id"]))[0]
    order = await buy(shop, buyer)
    first = await pay(shop, order)
    assert first.status == 200 and (await first.json()) == {"order_id": order["id"], "state": "paid", "duplicate": False}
    again = await pay(shop, order)
    assert again.status == 200 and (await again.json())["duplicate"] is True
    stored = await commerce(shop.client).orders.require(order["id"])
    assert [e.state.value for e in stored.timeline] == ["pending_payment", "paid"]
    body = json.dumps({"id": "evt_x", "type": "payment.succeeded", "order_id": order["id"], "amount_fen": 1}).encode()
    forged = await shop.client.post("/api/webhooks/payments/test", data=body, headers={SIGNATURE_HEADER: sign("wrong", body)})
    assert forged.status == 401 and (await forged.json())["error"] == "bad_signature"
    stale = await shop.client.post("/api/webhooks/payments/test", data=body,
                                   headers={SIGNATURE_HEADER: sign(SECRET, body, int(time.time()) - 3600)})
    assert stale.status == 401
    other = await buy(shop, buyer)
    body = json.dumps({"id": "evt_y", "type": "payment.succeeded", "order_id": other["id"], "amount_fen": 1}).encode()
    wrong_amount = await shop.client.post("/api/webhooks/payments/test", data=body, headers={SIGNATURE_HEADER: sign(SECRET, body)})
    assert wrong_amount.status == 400 and (await wrong_amount.json())["error"] == "payment_mismatch"
    assert (await commerce(shop.client).orders.require(other["id"])).state.value == "pending_payment"


async def test_fulfilment_walks_the_state_machine_and_a_received_order_is_found_for_reviews(shop: Shop) -> None:
    buyer = (await make_buyers(shop.client, 1, shop.community["id"]))[0]
    order = await buy(shop, buyer, method="pay_at_pickup")
    c = commerce(shop.client)
    assert await c.lookup.received_order(buyer.user_id, order["id"]) is None
    bad = await shop.client.post(f"/api/orders/{order['id']}/status", json={"state": "collected"}, headers=shop.auth)
    assert bad.status == 409 and (await bad.json())["error"] == "bad_transition"
    for state in ("packed", "departed", "at_pickup", "collected"):
        await shop.call("POST", f"/api/orders/{order['id']}/status", {"state": state}, status=200)
    received = await c.lookup.received_order(buyer.user_id, order["id"])
    assert received is not None and received.id == order["id"] and received.product_names == ("高山有机番茄",)
    assert await c.lookup.received_order(buyer.user_id + 1, order["id"]) is None
    mine = await (await shop.client.get("/api/orders/mine", headers=buyer.headers)).json()
    assert [e["state"] for e in mine[0]["timeline"]] == ["pending_payment", "packed", "departed", "at_pickup", "collected"]
    # Operator views: per pickup point, a pick list, CSV.
    listed = await shop.call("GET", f"/api/orders?pickup_point_id={shop.point['id']}")
    assert [o["id"] for o in listed] == [order["id"]]
    csv_text = await shop.call("GET", "/api/orders.csv")
    assert csv_text.startswith("\ufefforder_id,") and "阳光花园" in csv_text


async def test_progress_reaches_every_viewer_and_order_status_only_its_buyer(shop: Shop) -> None:
    pool = await open_pool(shop, [(2, 100)])
    buyers = await make_buyers(shop.client, 2, shop.community["id"])
    got: dict[int, list[tuple[str, Any]]] = {0: [], 1: []}
    async with aiohttp.ClientSession() as http:
        clients = []
        for i, b in enumerate(buyers):
            sio = LiteClient(http, str(shop.client.make_url("/")), f"fc_session={b.cookie}")
            for event in ("groupbuy.progress", "order.status"):
                sio.handlers[event] = lambda data, at, i=i, event=event: got[i].append((event, data))
            await sio.connect()
            joined = await sio.call("shop.join", {"room": shop.room})
            assert joined["ok"] and joined["shop"]["group_buys"][0]["id"] == pool["id"]
            clients.append(sio)
        started = time.monotonic()
        order = await buy(shop, buyers[0])
        while not any(e == "groupbuy.progress" for e, _ in got[1]):
            assert time.monotonic() - started < 2
            await asyncio.sleep(0.01)
        assert time.monotonic() - started < 0.5
        progress = next(d for e, d in got[1] if e == "groupbuy.progress")
        assert progress["buyers"] == 1 and progress["text_zh"] == "阳光花园 已有1位邻居下单 再差1位成团"
        await asyncio.sleep(0.2)
        assert [d["id"] for e, d in got[0] if e == "order.status"] == [order["id"]]
        assert not [d for e, d in got[1] if e == "order.status"]
        # Hosts pin; a viewer may not.
        refused = await clients[1].call("product.pin", {"room": shop.room, "product_id": shop.product["id"]})
        assert refused["error"] == "forbidden"
        for sio in clients:
            await sio.close()
