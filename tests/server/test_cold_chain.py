"""Cold chain end to end: a truck's readings leave the band -> the batch is flagged by an EPCIS
alarm event -> the orders holding it are found (in the commerce orders table) -> each buyer gets a
live Socket.IO notice and sees it on their notices; the operator gets the list."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import socketio

from server.app import create_app
from server.domain.accounts.roles import Role
from server.http.keys import ACCOUNTS, DATABASE
from server.http.trace_keys import COLD_CHAIN, SENSORS
from server.persistence.commerce_tables import LiveSessionRow, OrderRow, ProductRow
from tests.conftest import make_settings
from tests.helpers import add_room, operator_token
from tests.trace_helpers import BATCH_URI, GTIN, LOT, at, capture, journey, register_batch

BAND = {"quantity": "temperature", "low": 0, "high": 4, "max_minutes_outside": 2}


@pytest.fixture
async def client(aiohttp_client: Any, database_url: str) -> Any:
    return await aiohttp_client(create_app(make_settings(database_url)))


async def buyer(client: Any, identifier: str) -> tuple[int, str]:
    resp = await client.post("/api/auth/register", json={"identifier": identifier, "password": "tomato-2026"})
    assert resp.status == 202, await resp.text()
    resp = await client.post("/api/auth/login", json={"identifier": identifier, "password": "tomato-2026"})
    assert resp.status == 200, await resp.text()
    body = await resp.json()
    cookie = resp.cookies["fc_session"].value
    return int(body["user"]["id"]), cookie


async def place_order(client: Any, user_id: int, product_id: int, session_id: int, key: str, created: datetime, state: str = "paid") -> int:
    async with client.app[DATABASE].session() as s:
        row = OrderRow(user_id=user_id, idempotency_key=key, request_hash="0" * 64, session_id=session_id, room_id="farm",
                       product_id=product_id, product_name_zh="高山有机番茄", quantity=1, unit_base_fen=3990,
                       unit_price_fen=3990, total_fen=3990, lines=[], fulfilment="pickup", contact_name="小番茄",
                       contact_phone="13800138000", payment_method="test", state=state, created_at=created)
        s.add(row)
        await s.commit()
        await s.refresh(row)
        assert row.id is not None
        return row.id


async def shop(client: Any) -> tuple[int, int]:
    await add_room(client, "farm")
    async with client.app[DATABASE].session() as s:
        product = ProductRow(name_zh="高山有机番茄", gtin=GTIN, unit="500g", price_fen=3990, stock=100, photos=[],
                             created_at=datetime.now(UTC))
        other = ProductRow(name_zh="青菜", gtin="06901234567885", unit="500g", price_fen=990, stock=100, photos=[],
                           created_at=datetime.now(UTC))
        session = LiveSessionRow(room_id="farm", title="直播", started_at=datetime.now(UTC))
        s.add_all([product, other, session])
        await s.commit()
        await s.refresh(product)
        await s.refresh(other)
        await s.refresh(session)
        client.other_product = other.id
        return int(product.id), int(session.id)  # type: ignore[arg-type]


async def test_a_cold_chain_breach_flags_the_batch_and_tells_every_buyer(client: Any) -> None:
    token = await operator_token(client)
    auth = {"Authorization": f"Bearer {token}"}
    product_id, session_id = await shop(client)
    await register_batch(client, token, band=BAND)
    resp = await client.put("/api/trace/compensation-policy", json={"kind": "refund_percent", "amount": 50}, headers=auth)
    assert resp.status == 200
    device = await (await client.post("/api/sensors/devices", json={"id": "truck-9", "name": "冷链车", "kind": "truck"},
                                      headers=auth)).json()
    # Harvest, then the truck's sensor is attached to the batch (an EPCIS AssociationEvent).
    tagged = {"type": "AssociationEvent", "eventTime": at(2), "eventTimeZoneOffset": "+08:00",
              "parentID": device["uri"], "action": "ADD", "bizStep": "loading",
              "childQuantityList": [{"epcClass": BATCH_URI}]}
    await capture(client, token, journey() + [tagged])

    alice, alice_cookie = await buyer(client, "alice@example.com")
    bob, bob_cookie = await buyer(client, "bob@example.com")
    carol, _ = await buyer(client, "carol@example.com")
    now = datetime.now(UTC)
    a1 = await place_order(client, alice, product_id, session_id, "a1", now)
    b1 = await place_order(client, bob, product_id, session_id, "b1", now, state="pending_payment")
    await place_order(client, carol, product_id, session_id, "c1", now, state="cancelled")
    await place_order(client, carol, client.other_product, session_id, "c2", now)  # another product

    received: dict[int, list[dict[str, Any]]] = {alice: [], bob: []}
    clients = []
    for user_id, cookie in ((alice, alice_cookie), (bob, bob_cookie)):
        sio = socketio.AsyncClient()
        sio.on("trace:breach_notice", lambda data, uid=user_id: received[uid].append(data))
        await sio.connect(str(client.make_url("/")), headers={"Cookie": f"fc_session={cookie}"}, transports=["websocket"])
        assert await sio.call("trace:subscribe", None, timeout=5) == {"ok": True}
        clients.append(sio)
    try:
        readings = "/api/sensors/truck-9/readings"
        dev = {"Authorization": f"Bearer {device['token']}"}
        base = datetime.now(UTC) - timedelta(minutes=30)
        for minutes, value in ((0, 3.0), (1, 5.5), (2, 6.0), (3, 7.2), (4, 3.5)):
            resp = await client.post(readings, json={"t": (base + timedelta(minutes=minutes)).isoformat(), "temperature": value},
                                     headers=dev)
            assert resp.status == 202

        async def both_told() -> bool:
            return bool(received[alice]) and bool(received[bob])

        for _ in range(200):
            if await both_told():
                break
            await asyncio.sleep(0.05)
        assert received[alice] and received[bob], received
        notice = received[alice][0]
        assert notice["order_id"] == a1 and notice["lot"] == LOT and "50%" in notice["offer"]
        assert notice["trace_url"] == f"/01/{GTIN}/10/{LOT}"
        assert received[bob][0]["order_id"] == b1
        assert len(received[alice]) == 1  # one breach, one notice, however many readings follow

        trail = await (await client.get(f"/api/trace/batches/{GTIN}/{LOT}")).json()
        assert trail["batch"]["flagged"] and "0–4°C" in trail["batch"]["flag_reason"]
        alarm = [json.loads(e["body"]) for e in trail["events"] if "ALARM_CONDITION" in e["body"]]
        assert len(alarm) == 1
        report = alarm[0]["sensorElementList"][0]["sensorReport"][0]
        assert report["exception"] == "ALARM_CONDITION" and report["value"] == 7.2
        assert alarm[0]["disposition"] == "non_conformant"
        verdict = await (await client.get(f"/api/trace/batches/{GTIN}/{LOT}/verify")).json()
        assert verdict["verified"]
        assert trail["sensors"] and trail["sensors"][0]["device"] == "truck-9"

        client.session.cookie_jar.clear()  # the jar holds the last sign-up's session: speak as alice
        mine = await (await client.get("/api/me/trace-notices", headers={"Cookie": f"fc_session={alice_cookie}"})).json()
        assert [n["order_id"] for n in mine] == [a1]
        listing = await (await client.get("/api/trace/breaches", headers=auth)).json()
        assert sorted(n["order_id"] for n in listing) == sorted([a1, b1])
        assert all(n["lot"] == LOT for n in listing)
        assert (await client.get("/api/me/trace-notices")).status == 401
    finally:
        for sio in clients:
            await sio.disconnect()
    assert client.app[COLD_CHAIN].breaches == 1
    assert client.app[SENSORS].stored == 5
    assert client.app[ACCOUNTS] is not None and Role.OPERATOR


async def test_readings_inside_the_band_or_briefly_outside_raise_nothing(client: Any) -> None:
    token = await operator_token(client)
    await register_batch(client, token, band=BAND)
    auth = {"Authorization": f"Bearer {token}"}
    device = await (await client.post("/api/sensors/devices", json={"id": "truck-8", "name": "冷链车", "kind": "truck"},
                                      headers=auth)).json()
    tagged = {"type": "AssociationEvent", "eventTime": at(2), "eventTimeZoneOffset": "+08:00",
              "parentID": device["uri"], "action": "ADD", "childQuantityList": [{"epcClass": BATCH_URI}]}
    await capture(client, token, journey() + [tagged])
    base = datetime.now(UTC) - timedelta(minutes=30)
    for minutes, value in ((0, 3.0), (1, 4.5), (2, 3.9), (3, 5.0), (4, 2.0)):  # 2 separate minutes outside: at the limit
        await client.post("/api/sensors/truck-8/readings", json={"t": (base + timedelta(minutes=minutes)).isoformat(),
                                                                  "temperature": value},
                          headers={"Authorization": f"Bearer {device['token']}"})
    await client.app[SENSORS].close()
    trail = await (await client.get(f"/api/trace/batches/{GTIN}/{LOT}")).json()
    assert not trail["batch"]["flagged"]
    assert client.app[COLD_CHAIN].breaches == 0
