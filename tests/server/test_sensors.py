"""Sensors: readings over the real Mosquitto and over HTTP with per-device tokens, the on-stream
panel, compact storage (raw + 5-minute buckets), and who may do what."""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import aiomqtt
import pytest
from sqlalchemy import func, select

from server.app import create_app
from server.domain.accounts.roles import Role, role_allows
from server.http.keys import DATABASE, MEDIA, ROOMS
from server.http.trace_keys import MQTT, SENSORS
from server.media import open_live_room
from server.persistence.trace_tables import SensorReadingRow, SensorRollupRow
from tests.conftest import make_settings
from tests.helpers import add_room, operator_token
from tests.server.test_trace_api import token_for
from tests.trace_helpers import GTIN, LOT, register_batch

MQTT_URL = "mqtt://127.0.0.1:1883"


async def wait_for(predicate: Any, timeout: float = 10.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not await predicate():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("timed out waiting")
        await asyncio.sleep(0.05)


async def add_device(client: Any, token: str, device_id: str, name: str = "冷链车", kind: str = "truck") -> dict[str, Any]:
    resp = await client.post("/api/sensors/devices", json={"id": device_id, "name": name, "kind": kind},
                             headers={"Authorization": f"Bearer {token}"})
    assert resp.status == 201, await resp.text()
    return dict(await resp.json())


async def stored(client: Any, device_id: str) -> int:
    async with client.app[DATABASE].session() as s:
        stmt = select(func.count()).select_from(SensorReadingRow).where(SensorReadingRow.device_id == device_id)
        return int((await s.execute(stmt)).scalar() or 0)


@pytest.fixture
async def mqtt_client(aiohttp_client: Any, sqlite_url: str) -> Any:
    prefix = f"fieldcast-test-{secrets.token_hex(4)}"  # the broker is shared: a topic tree of our own
    client = await aiohttp_client(create_app(make_settings(sqlite_url, mqtt_url=MQTT_URL, mqtt_topic_prefix=prefix)))
    await asyncio.wait_for(client.app[MQTT].connected.wait(), 10)
    client.prefix = prefix
    return client


@pytest.mark.both_loops
@pytest.mark.media
async def test_a_device_publishing_over_mqtt_changes_the_panel_and_is_stored(mqtt_client: Any) -> None:
    client = mqtt_client
    token = await operator_token(client)
    device = await add_device(client, token, "truck-1")
    assert device["mqtt_topic"] == f"{client.prefix}/sensors/truck-1/readings"
    await add_room(client, "farm")
    room = await open_live_room(client.app, await client.app[ROOMS].get("farm"))
    resp = await client.put("/api/rooms/farm/trace-overlay", json={"devices": ["truck-1"]},
                            headers={"Authorization": f"Bearer {token}"})
    assert resp.status == 200, await resp.text()
    panel = room.compositor.get("sensor-panel")
    assert panel is not None and panel.state.entries[0].value == "—"

    async with aiomqtt.Client("127.0.0.1", 1883) as device_client:
        payload = {"token": device["token"], "temperature": 3.1, "humidity": 82.5}
        await device_client.publish(device["mqtt_topic"], json.dumps(payload).encode(), qos=1)

    async def panel_shows_it() -> bool:
        return any(e.value == "3.1°C" and not e.stale for e in panel.state.entries)

    await wait_for(panel_shows_it)
    assert [e.label for e in panel.state.entries] == ["冷链车 温度", "冷链车 湿度"]

    async def is_stored() -> bool:
        return await stored(client, "truck-1") == 1

    await wait_for(is_stored)
    history = await (await client.get("/api/sensors/truck-1/history?hours=1", headers={"Authorization": f"Bearer {token}"})).json()
    assert [p[1] for p in history["series"]["temperature"]] == [3.1]
    assert client.app[MEDIA].rooms["farm"] is room


async def test_mqtt_messages_with_bad_tokens_or_bodies_are_dropped_and_the_bridge_carries_on(mqtt_client: Any) -> None:
    client = mqtt_client
    token = await operator_token(client)
    device = await add_device(client, token, "field-1", "田间", "field")
    topic = device["mqtt_topic"]
    bridge = client.app[MQTT]
    async with aiomqtt.Client("127.0.0.1", 1883) as c:
        for bad in (
            b"not json",
            json.dumps({"token": "fcd_wrong", "temperature": 20}).encode(),
            json.dumps({"token": device["token"], "temperature": 400}).encode(),
            json.dumps({"token": device["token"], "temperature": "<img src=x onerror=alert(1)>"}).encode(),
            json.dumps({"token": device["token"], "soil_moisture": 30, "extra": 1}).encode(),
        ):
            await c.publish(topic, bad, qos=1)
        await c.publish(f"{client.prefix}/sensors/nobody/readings", json.dumps({"token": "x", "temperature": 1}).encode(), qos=1)
        await c.publish(topic, json.dumps({"token": device["token"], "soil_moisture": 32.5}).encode(), qos=1)

    async def good_one_stored() -> bool:
        return await stored(client, "field-1") == 1

    await wait_for(good_one_stored)
    assert bridge.refused == 6
    assert await stored(client, "nobody") == 0


@pytest.fixture
async def client(aiohttp_client: Any, database_url: str) -> Any:
    return await aiohttp_client(create_app(make_settings(database_url)))


async def test_http_readings_need_the_device_token_and_sane_values(client: Any) -> None:
    token = await operator_token(client)
    device = await add_device(client, token, "store-1", "冷库", "store")
    url = "/api/sensors/store-1/readings"
    good = {"Authorization": f"Bearer {device['token']}"}
    now = datetime.now(UTC)
    resp = await client.post(url, json={"t": (now - timedelta(seconds=30)).isoformat(), "temperature": 2.5}, headers=good)
    assert resp.status == 202
    cases = [
        (url, {"temperature": 2.0}, {}, 401, "bad_device_token"),
        (url, {"temperature": 2.0}, {"Authorization": "Bearer fcd_nope"}, 401, "bad_device_token"),
        ("/api/sensors/ghost/readings", {"temperature": 2.0}, good, 404, "unknown_device"),
        (url, {"temperature": -300}, good, 400, "impossible_reading"),
        (url, {"humidity": 101}, good, 400, "impossible_reading"),
        (url, {}, good, 400, "impossible_reading"),
        (url, {"t": (now - timedelta(minutes=5)).isoformat(), "temperature": 2.0}, good, 400, "out_of_order_reading"),
        (url, {"t": (now + timedelta(hours=1)).isoformat(), "temperature": 2.0}, good, 400, "out_of_order_reading"),
        (url, {"temperature": "cold"}, good, 422, "invalid_input"),
    ]
    for path, body, headers, status, code in cases:
        resp = await client.post(path, json=body, headers=headers)
        assert resp.status == status, (body, await resp.text())
        assert (await resp.json())["error"] == code
    await client.app[SENSORS].close()  # flush
    assert await stored(client, "store-1") == 1
    revoke = await client.post("/api/sensors/devices/store-1/revoke", headers={"Authorization": f"Bearer {token}"})
    assert revoke.status == 204
    resp = await client.post(url, json={"temperature": 2.0}, headers=good)
    assert resp.status == 401


async def test_history_is_kept_as_five_minute_buckets_after_raw_readings_expire(client: Any) -> None:
    token = await operator_token(client)
    device = await add_device(client, token, "truck-2")
    hub = client.app[SENSORS]
    start = datetime.now(UTC).replace(second=0, microsecond=0) - timedelta(hours=3)
    start -= timedelta(minutes=start.minute % 5)
    values = []
    for i in range(60):  # one reading a minute for an hour: 12 buckets of 5
        values.append(2.0 + (i % 5))
        await hub.ingest("truck-2", device["token"], start + timedelta(minutes=i), {"temperature": values[-1]})
    await hub.close()
    async with client.app[DATABASE].session() as s:
        rows = (await s.execute(select(SensorRollupRow).where(SensorRollupRow.device_id == "truck-2")
                                .order_by(SensorRollupRow.bucket))).scalars().all()
    assert len(rows) == 12
    assert all(r.n == 5 and r.t_min == 2.0 and r.t_max == 6.0 and abs(r.t_sum / r.t_n - 4.0) < 1e-9 for r in rows)
    pruned = await hub.store.prune(datetime.now(UTC))
    assert pruned == 60
    points = await hub.series("truck-2", "temperature", start, start + timedelta(hours=7))
    assert len(points) == 12 and all(abs(p[1] - 4.0) < 1e-9 for p in points)


@pytest.mark.parametrize(
    ("method", "path", "needs"),
    [
        ("POST", "/api/sensors/devices", Role.OPERATOR),
        ("POST", "/api/sensors/devices/x/revoke", Role.OPERATOR),
        ("GET", "/api/sensors/devices", Role.HOST),
        ("GET", "/api/sensors/x/history", Role.HOST),
        ("PUT", "/api/rooms/farm/trace-overlay", Role.HOST),
        ("GET", "/api/trace/breaches", Role.OPERATOR),
        ("GET", "/api/trace/compensation-policy", Role.OPERATOR),
        ("PUT", "/api/trace/compensation-policy", Role.OPERATOR),
    ],
)
async def test_sensor_and_cold_chain_routes_refuse_lower_roles(client: Any, method: str, path: str, needs: Role) -> None:
    await add_room(client, "farm")
    assert (await client.request(method, path, json={})).status == 401
    for role in Role:
        if role_allows(role, needs):
            continue
        token = await token_for(client, role)
        resp = await client.request(method, path, json={}, headers={"Authorization": f"Bearer {token}"})
        assert resp.status == 403, (role, path)


async def test_the_overlay_refuses_unknown_devices_and_batches(client: Any) -> None:
    token = await operator_token(client)
    await add_room(client, "farm")
    auth = {"Authorization": f"Bearer {token}"}
    resp = await client.put("/api/rooms/farm/trace-overlay", json={"devices": ["ghost"]}, headers=auth)
    assert resp.status == 404 and (await resp.json())["error"] == "unknown_device"
    resp = await client.put("/api/rooms/farm/trace-overlay", json={"batch": {"gtin": GTIN, "lot": LOT}}, headers=auth)
    assert resp.status == 404
    await register_batch(client, token)
    resp = await client.put("/api/rooms/farm/trace-overlay", json={"batch": {"gtin": GTIN, "lot": LOT}}, headers=auth)
    assert resp.status == 200
    assert (await client.put("/api/rooms/nope/trace-overlay", json={}, headers=auth)).status == 404


@pytest.mark.media
async def test_the_panel_shows_one_quantity_of_a_device_when_the_host_names_it(client: Any) -> None:
    token = await operator_token(client)
    auth = {"Authorization": f"Bearer {token}"}
    device = await add_device(client, token, "field-2", "田间", "field")
    await add_room(client, "farm")
    room = await open_live_room(client.app, await client.app[ROOMS].get("farm"))
    resp = await client.put("/api/rooms/farm/trace-overlay", json={"devices": ["field-2:pressure"]}, headers=auth)
    assert resp.status == 400 and (await resp.json())["error"] == "bad_panel_entry"
    resp = await client.put("/api/rooms/farm/trace-overlay", json={"devices": ["field-2:soil_moisture"]}, headers=auth)
    assert resp.status == 200, await resp.text()
    resp = await client.post("/api/sensors/field-2/readings", json={"temperature": 21.5, "soil_moisture": 33.0},
                             headers={"Authorization": f"Bearer {device['token']}"})
    assert resp.status == 202
    panel = room.compositor.get("sensor-panel")
    assert panel is not None

    async def shows_it() -> bool:
        return [(e.label, e.value) for e in panel.state.entries] == [("土壤湿度", "33.0%")]

    await wait_for(shows_it)


async def test_an_mqtt_reading_is_acknowledged_only_once_stored(mqtt_client: Any, sqlite_url: str) -> None:
    import sqlite3

    client = mqtt_client
    token = await operator_token(client)
    device = await add_device(client, token, "truck-9")
    bridge = client.app[MQTT]
    blocker = sqlite3.connect(sqlite_url.removeprefix("sqlite:///"), isolation_level=None)
    blocker.execute("BEGIN EXCLUSIVE")  # the database cannot take the reading for now
    try:
        async with aiomqtt.Client("127.0.0.1", 1883) as c:
            await c.publish(device["mqtt_topic"], json.dumps({"token": device["token"], "temperature": 2.5,
                                                              "t": datetime.now(UTC).isoformat()}).encode(), qos=1)

        def received(n: int) -> Any:
            async def check() -> bool:
                return bool(bridge.received >= n)
            return check

        await wait_for(received(1))
        assert client.app[SENSORS].stored == 0
        # The connection drops before the reading is stored: not acknowledged, so the broker
        # sends it again on the resumed session, and the repeat is refused (already accepted).
        assert bridge.subscriber is not None
        bridge.subscriber.abort()
        await wait_for(received(2), timeout=15)
        assert bridge.refused == 1
    finally:
        blocker.execute("ROLLBACK")
        blocker.close()

    async def is_stored() -> bool:
        return await stored(client, "truck-9") == 1

    await wait_for(is_stored, timeout=15)
    await asyncio.sleep(0.3)
    assert await stored(client, "truck-9") == 1  # once, not twice


@pytest.mark.timeout(90)
async def test_fieldcast_serve_on_its_default_event_loop_stores_a_reading_from_mosquitto_pub(tmp_path: Path) -> None:
    """The process operators run, left on its default loop (uvloop), with a publisher nobody here
    wrote: the bridge must connect and the reading must reach the device's history."""
    mosquitto_pub = shutil.which("mosquitto_pub")
    assert mosquitto_pub is not None, "mosquitto_pub is missing: run scripts/setup.sh test"
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])
    prefix = f"fieldcast-test-{secrets.token_hex(4)}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("FIELDCAST_")}
    env.update(FIELDCAST_DATABASE_URL=f"sqlite:///{tmp_path / 'serve.db'}", FIELDCAST_PORT=str(port),
               FIELDCAST_HOST="127.0.0.1", FIELDCAST_MQTT_URL=MQTT_URL, FIELDCAST_MQTT_TOPIC_PREFIX=prefix)
    made = subprocess.run([sys.executable, "-m", "server", "token", "--role", "operator", "--label", "test"],
                          env=env, check=True, capture_output=True, text=True)
    token = made.stdout.split()[-1]
    log = tmp_path / "serve.log"
    with log.open("wb") as out:
        proc = subprocess.Popen([sys.executable, "-m", "server", "serve"], env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 30
        while "MQTT bridge subscribed" not in log.read_text():
            assert proc.poll() is None, log.read_text()
            assert time.monotonic() < deadline, f"the MQTT bridge never subscribed:\n{log.read_text()}"
            await asyncio.sleep(0.1)
        assert "event loop: uvloop" in log.read_text()
        auth = {"Authorization": f"Bearer {token}"}
        async with aiohttp.ClientSession(base_url=f"http://127.0.0.1:{port}") as http:
            resp = await http.post("/api/sensors/devices", json={"id": "truck-9", "name": "冷链车", "kind": "truck"},
                                   headers=auth)
            assert resp.status == 201, await resp.text()
            device = await resp.json()
            pub = await asyncio.create_subprocess_exec(
                mosquitto_pub, "-h", "127.0.0.1", "-p", "1883", "-V", "mqttv5", "-q", "1", "-t", device["mqtt_topic"],
                "-m", json.dumps({"token": device["token"], "temperature": 4.2}), stderr=asyncio.subprocess.PIPE)
            _, err = await asyncio.wait_for(pub.communicate(), 10)
            assert pub.returncode == 0, err.decode()

            async def in_history() -> bool:
                resp = await http.get("/api/sensors/truck-9/history?hours=1", headers=auth)
                assert resp.status == 200, await resp.text()
                return [p[1] for p in (await resp.json())["series"].get("temperature", [])] == [4.2]

            await wait_for(in_history, timeout=15)
            resp = await http.get("/api/sensors/stats", headers=auth)
            counters = await resp.json()
            assert counters["mqtt_connected"] is True and counters["mqtt_received"] == 1, counters
        assert "AssertionError" not in log.read_text()
    finally:
        proc.terminate()
        proc.wait(15)
