"""A payment must match the order: a provider's signed webhook pays only that provider's orders, and
an order may only ask for a payment method the server has enabled (black-box over HTTP)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from server.app import create_app
from server.integrations.payments.test_provider import SIGNATURE_HEADER, sign
from tests.commerce import Shop, csrf, key, make_buyers, make_shop, pickup
from tests.conftest import make_settings

pytestmark = pytest.mark.timeout(60)

SECRET = "whsec-security-test"


async def place(shop: Shop, headers: dict[str, str], method: str) -> Any:
    return await shop.client.post("/api/orders", headers=headers, json={
        "room_id": shop.room, "product_id": shop.product["id"], "quantity": 1, "delivery": pickup(shop),
        "payment_method": method, "idempotency_key": key()})


async def test_a_signed_test_webhook_does_not_pay_a_pay_at_pickup_order(
    database_url: str, aiohttp_client: Callable[..., Any], tmp_path: Path
) -> None:
    client = await aiohttp_client(create_app(make_settings(database_url, test_payments_secret=SECRET)))
    shop = await make_shop(client)
    buyer = (await make_buyers(client, 1, shop.community["id"]))[0]
    headers = await csrf(client, buyer)
    resp = await place(shop, headers, "pay_at_pickup")
    assert resp.status == 201, await resp.text()
    order = (await resp.json())["order"]
    body = json.dumps({"id": "evt_forged", "type": "payment.succeeded", "order_id": order["id"],
                       "amount_fen": order["due_fen"]}).encode()
    hook = await client.post("/api/webhooks/payments/test", data=body,
                             headers={SIGNATURE_HEADER: sign(SECRET, body), "Content-Type": "application/json"})
    assert hook.status == 400, await hook.text()
    assert (await hook.json())["error"] == "payment_mismatch"
    after = await (await client.get(f"/api/orders/{order['id']}", headers=headers)).json()
    assert after["state"] == "pending_payment"
    # The same provider's own order is paid by the same kind of webhook (the check is not a blanket refusal).
    resp = await place(shop, headers, "test")
    assert resp.status == 201, await resp.text()
    mine = (await resp.json())["order"]
    body = json.dumps({"id": "evt_ok", "type": "payment.succeeded", "order_id": mine["id"],
                       "amount_fen": mine["due_fen"]}).encode()
    hook = await client.post("/api/webhooks/payments/test", data=body,
                             headers={SIGNATURE_HEADER: sign(SECRET, body), "Content-Type": "application/json"})
    assert hook.status == 200, await hook.text()
    assert (await hook.json())["state"] == "paid"
    # A signed body that is JSON but not an object is bad input, not a crash (found by the fuzz pass).
    for odd in (b"null", b"[]", b"7"):
        hook = await client.post("/api/webhooks/payments/test", data=odd,
                                 headers={SIGNATURE_HEADER: sign(SECRET, odd), "Content-Type": "application/json"})
        assert hook.status == 400, (odd, await hook.text())


async def test_an_order_for_a_provider_that_is_off_is_refused_and_writes_nothing(
    sqlite_url: str, aiohttp_client: Callable[..., Any]
) -> None:
    client = await aiohttp_client(create_app(make_settings(sqlite_url)))  # no test provider secret
    shop = await make_shop(client)
    buyer = (await make_buyers(client, 1, shop.community["id"]))[0]
    headers = await csrf(client, buyer)
    resp = await place(shop, headers, "test")
    assert resp.status == 400, await resp.text()
    reply = await resp.json()
    assert reply["error"] == "payment_method_unavailable" and "pay_at_pickup" in reply["message"]
    assert await (await client.get("/api/orders/mine", headers=headers)).json() == []
    assert (await place(shop, headers, "pay_at_pickup")).status == 201
