"""Trace figures, measured against a real server process from this (separate) process:

- sensor_readings_per_s: readings published over MQTT (the machine's Mosquitto) and stored;
- log_append_per_s: EPCIS events captured over HTTP (documents of 100) and appended to the log;
- inclusion_proof_ms: an inclusion proof read from a stored 1,000,000-leaf tree (p50 and p99);
- breach_to_notice_ms: breaching reading published -> the buyer's Socket.IO notice (p99).
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import re
import secrets
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bench.server_proc import _env, free_port

MQTT_URL = "mqtt://127.0.0.1:1883"


class Server:
    def __init__(self, extra: dict[str, str] | None = None) -> None:
        self.tmp = Path(tempfile.mkdtemp(prefix="fieldcast-trace-bench-"))
        self.port = free_port()
        self.db = self.tmp / "bench.db"
        self.env = _env(self.db, self.port)
        self.env.update(extra or {})
        self.base = f"http://127.0.0.1:{self.port}"
        self.token = ""
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> Server:
        out = subprocess.run([sys.executable, "-m", "server", "token", "--role", "operator", "--label", "bench"],
                             env=self.env, check=True, capture_output=True, text=True).stdout
        self.token = out.strip().splitlines()[-1]
        self.proc = subprocess.Popen([sys.executable, "-m", "server", "serve"], env=self.env)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(self.base + "/healthz", timeout=1):
                    return self
            except OSError:
                time.sleep(0.2)
        raise RuntimeError("server did not come up")

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()

    def call(self, method: str, path: str, body: Any = None, headers: dict[str, str] | None = None) -> Any:
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(self.base + path, data=data, method=method, headers={
            "Authorization": f"Bearer {self.token}", "Content-Type": "application/json", **(headers or {})})
        with urllib.request.urlopen(request, timeout=60) as resp:
            raw = resp.read()
            return json.loads(raw) if raw else None


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def gtin_for(i: int) -> str:
    from server.domain.trace.identifiers import check_digit

    body = f"0690123{i:06d}"
    return body + check_digit(body)


# -- sensor_readings_per_s ------------------------------------------------------------------------


async def _publish(topic: str, token: str, count: int, start: datetime) -> None:
    import aiomqtt

    async with aiomqtt.Client("127.0.0.1", 1883, max_inflight_messages=1000) as client:
        pending = []
        for i in range(count):
            payload = json.dumps({"token": token, "t": iso(start + timedelta(milliseconds=i)), "temperature": 3.0 + (i % 10) / 10})
            pending.append(client.publish(topic, payload.encode(), qos=1))
            if len(pending) >= 200:
                await asyncio.gather(*pending)
                pending = []
        await asyncio.gather(*pending)


def sensor_readings_per_s(devices: int = 4, per_device: int = 10_000) -> tuple[float, int]:
    prefix = f"fieldcast-bench-{secrets.token_hex(4)}"
    server = Server({"FIELDCAST_MQTT_URL": MQTT_URL, "FIELDCAST_MQTT_TOPIC_PREFIX": prefix}).start()
    try:
        made = [server.call("POST", "/api/sensors/devices", {"id": f"bench-{d}", "name": "冷链车", "kind": "truck"})
                for d in range(devices)]
        time.sleep(1.0)  # the bridge is subscribed
        start = datetime.now(UTC) - timedelta(hours=1)
        total = devices * per_device
        t0 = time.perf_counter()

        async def publish_all() -> None:
            await asyncio.gather(*(_publish(m["mqtt_topic"], m["token"], per_device, start) for m in made))

        asyncio.run(publish_all())
        stored = 0
        last_change = time.perf_counter()
        while time.perf_counter() - last_change < 5.0:
            now_stored = server.call("GET", "/api/sensors/stats")["stored"]
            if now_stored != stored:
                stored, last_change = now_stored, time.perf_counter()
            if stored >= total:
                break
            time.sleep(0.02)
        elapsed = (last_change if stored < total else time.perf_counter()) - t0
        return stored / elapsed, total - stored
    finally:
        server.stop()


# -- log_append_per_s -----------------------------------------------------------------------------


def log_append_per_s(documents: int = 200, per_document: int = 100, workers: int = 4) -> float:
    server = Server().start()
    try:
        server.call("POST", "/api/trace/products", {"gtin": gtin_for(1), "name": "高山有机番茄"})
        server.call("POST", "/api/trace/batches", {"gtin": gtin_for(1), "lot": "BENCH-1", "farm": "青禾农场"})
        uri = f"https://id.gs1.org/01/{gtin_for(1)}/10/BENCH-1"
        base = datetime.now(UTC) - timedelta(days=2)
        bodies = []
        for d in range(documents):
            events = [{
                "type": "ObjectEvent", "eventTime": iso(base + timedelta(milliseconds=d * per_document + i)),
                "eventTimeZoneOffset": "+08:00", "action": "OBSERVE", "bizStep": "inspecting",
                "quantityList": [{"epcClass": uri, "quantity": 1, "uom": "KGM"}],
                "readPoint": {"id": "https://id.gs1.org/414/6901234000004"},
            } for i in range(per_document)]
            bodies.append(json.dumps({"@context": ["https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"],
                                      "type": "EPCISDocument", "schemaVersion": "2.0", "creationDate": iso(base),
                                      "epcisBody": {"eventList": events}}).encode())

        async def run() -> float:
            import aiohttp

            queue = list(bodies)
            headers = {"Authorization": f"Bearer {server.token}", "Content-Type": "application/json"}
            async with aiohttp.ClientSession() as session:
                async def worker() -> None:
                    while queue:
                        body = queue.pop()
                        async with session.post(server.base + "/api/epcis/capture", data=body, headers=headers) as resp:
                            assert resp.status == 201, await resp.text()

                t0 = time.perf_counter()
                await asyncio.gather(*(worker() for _ in range(workers)))
                return time.perf_counter() - t0

        elapsed = asyncio.run(run())
        size = server.call("GET", "/api/trace/log")["size"]
        assert size == documents * per_document, size
        return size / elapsed
    finally:
        server.stop()


# -- inclusion_proof_ms ---------------------------------------------------------------------------


def build_tree(path: Path, leaves: int) -> None:
    """A stored log of `leaves` leaves, written directly (setup, not measured)."""
    from server.domain.trace import merkle
    from server.persistence.trace_log import node_id

    async def schema() -> None:
        from server.persistence.db import Database

        db = Database(f"sqlite:///{path}")
        await db.create_schema()
        await db.close()

    asyncio.run(schema())
    conn = sqlite3.connect(path)
    rows: list[tuple[int, bytes]] = []
    nodes: dict[merkle.Key, bytes] = {}
    size = 0
    step = 65_536
    while size < leaves:
        chunk = [merkle.leaf_hash(f"leaf {i}".encode()) for i in range(size, min(leaves, size + step))]
        new = merkle.append(size, {k: nodes[k] for k in merkle.frontier(size)}, chunk)
        rows = [(node_id(k), v) for k, v in new.items()]
        conn.executemany("INSERT INTO trace_nodes (id, hash) VALUES (?, ?)", rows)
        nodes.update(new)
        size += len(chunk)
        nodes = {k: nodes[k] for k in merkle.frontier(size)}
    conn.execute("INSERT INTO trace_head (id, size) VALUES (1, ?)", (size,))
    conn.commit()
    conn.close()


def inclusion_proof_ms(leaves: int = 1_000_000, samples: int = 2000) -> tuple[float, float]:
    from server.domain.trace import merkle
    from server.persistence.db import Database
    from server.persistence.trace_log import SqlTraceLog

    tmp = Path(tempfile.mkdtemp(prefix="fieldcast-tree-"))
    path = tmp / "tree.db"
    build_tree(path, leaves)

    async def measure() -> list[float]:
        db = Database(f"sqlite:///{path}")
        log = SqlTraceLog(db)
        rng = random.Random(7)
        times = []
        root = None
        for n in range(samples + 50):
            index = rng.randrange(leaves)
            t0 = time.perf_counter()
            plan = merkle.inclusion_plan(index, leaves)
            proof = merkle.assemble(plan, await log.nodes(merkle.keys_of(plan)))
            elapsed = time.perf_counter() - t0
            if root is None:
                root = merkle.root_from(leaves, await log.nodes(merkle.root_plan(leaves)))
            assert merkle.verify_inclusion(index, leaves, merkle.leaf_hash(f"leaf {index}".encode()), proof, root)
            if n >= 50:  # warm-up
                times.append(elapsed * 1000)
        await db.close()
        return times

    times = sorted(asyncio.run(measure()))
    return statistics.median(times), times[int(len(times) * 0.99)]


# -- breach_to_notice_ms --------------------------------------------------------------------------


def breach_to_notice_ms(trials: int = 30) -> float:
    prefix = f"fieldcast-bench-{secrets.token_hex(4)}"
    server = Server({"FIELDCAST_MQTT_URL": MQTT_URL, "FIELDCAST_MQTT_TOPIC_PREFIX": prefix}).start()
    try:
        request = urllib.request.Request(server.base + "/api/auth/register", method="POST",
                                         data=json.dumps({"identifier": "buyer@example.com", "password": "tomato-2026"}).encode(),
                                         headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request) as resp:
            user_id = json.loads(resp.read())["user"]["id"]
            cookie = re.search(r"fc_session=([^;]+)", resp.headers.get_all("Set-Cookie")[0] if resp.headers.get_all("Set-Cookie") else "")
        cookies = [c for c in resp.headers.get_all("Set-Cookie") or [] if c.startswith("fc_session=")]
        session_cookie = cookies[0].split(";")[0]
        assert cookie is not None
        harvest = datetime.now(UTC) - timedelta(hours=5)
        devices = []
        for i in range(trials):
            gtin = gtin_for(100 + i)
            server.call("POST", "/api/trace/products", {"gtin": gtin, "name": f"番茄 {i}",
                                                         "band": {"quantity": "temperature", "low": 0, "high": 4, "max_minutes_outside": 0}})
            server.call("POST", "/api/trace/batches", {"gtin": gtin, "lot": f"B{i}", "farm": "青禾农场"})
            device = server.call("POST", "/api/sensors/devices", {"id": f"truck-{i}", "name": "冷链车", "kind": "truck"})
            devices.append(device)
            uri = f"https://id.gs1.org/01/{gtin}/10/B{i}"
            server.call("POST", "/api/epcis/capture", {"@context": [], "type": "EPCISDocument", "schemaVersion": "2.0",
                                                       "creationDate": iso(harvest), "epcisBody": {"eventList": [
                {"type": "ObjectEvent", "eventTime": iso(harvest), "eventTimeZoneOffset": "+08:00", "action": "ADD",
                 "bizStep": "commissioning", "quantityList": [{"epcClass": uri, "quantity": 10, "uom": "KGM"}]},
                {"type": "AssociationEvent", "eventTime": iso(harvest + timedelta(hours=1)), "eventTimeZoneOffset": "+08:00",
                 "action": "ADD", "parentID": device["uri"], "childQuantityList": [{"epcClass": uri}]},
            ]}})
        # The buyer's orders, one per product, written straight into the commerce tables.
        conn = sqlite3.connect(server.db)
        now = datetime.now(UTC).isoformat()
        conn.execute("INSERT INTO live_sessions (room_id, title, started_at) VALUES ('bench', 'bench', ?)", (now,))
        session_id = conn.execute("SELECT max(id) FROM live_sessions").fetchone()[0]
        for i in range(trials):
            conn.execute("INSERT INTO products (name_zh, name_en, gtin, unit, price_fen, stock, photos, active, created_at) "
                         "VALUES (?, '', ?, '500g', 990, 10, '[]', 1, ?)", (f"番茄 {i}", gtin_for(100 + i), now))
            product_id = conn.execute("SELECT max(id) FROM products").fetchone()[0]
            conn.execute(
                "INSERT INTO orders (user_id, idempotency_key, request_hash, session_id, room_id, product_id, product_name_zh,"
                " product_name_en, quantity, unit_base_fen, unit_price_fen, total_fen, lines, fulfilment, delivery_address,"
                " contact_name, contact_phone, payment_method, state, refunded_fen, stock_applied, created_at)"
                " VALUES (?, ?, ?, ?, 'bench', ?, '番茄', '', 1, 990, 990, 990, '[]', 'pickup', '', '买家', '13800138000',"
                " 'test', 'paid', 0, 1, ?)",
                (user_id, f"k{i}", "0" * 64, session_id, product_id, now))
        conn.commit()
        conn.close()

        async def run() -> list[float]:
            import aiomqtt
            import socketio

            got: dict[str, float] = {}
            arrived = asyncio.Event()
            sio = socketio.AsyncClient()

            def on_notice(data: dict[str, Any]) -> None:
                got[data["lot"]] = time.perf_counter()
                arrived.set()

            sio.on("trace:breach_notice", on_notice)
            await sio.connect(server.base, headers={"Cookie": session_cookie}, transports=["websocket"])
            assert await sio.call("trace:subscribe", None) == {"ok": True}
            latencies = []
            async with aiomqtt.Client("127.0.0.1", 1883) as mqtt:
                await asyncio.sleep(0.5)
                for i, device in enumerate(devices):
                    arrived.clear()
                    payload = json.dumps({"token": device["token"], "temperature": 9.5}).encode()
                    t0 = time.perf_counter()
                    await mqtt.publish(device["mqtt_topic"], payload, qos=1)
                    while f"B{i}" not in got:
                        await asyncio.wait_for(arrived.wait(), 10)
                        arrived.clear()
                    latencies.append((got[f"B{i}"] - t0) * 1000)
                    await asyncio.sleep(0.1)
            await sio.disconnect()
            return latencies

        latencies = sorted(asyncio.run(run()))
        return latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))]
    finally:
        server.stop()


def main() -> None:
    os.environ.setdefault("FIELDCAST_LOG_LEVEL", "WARNING")
    rate, lost = sensor_readings_per_s()
    print(f"sensor_readings_per_s: {rate:.0f}", flush=True)
    print(f"sensor_readings_lost: {lost}", flush=True)
    print(f"log_append_per_s: {log_append_per_s():.0f}", flush=True)
    p50, p99 = inclusion_proof_ms()
    print(f"inclusion_proof_ms: {p50:.3f}", flush=True)
    print(f"inclusion_proof_ms_p99: {p99:.3f}", flush=True)
    print(f"breach_to_notice_ms: {breach_to_notice_ms():.0f}", flush=True)


if __name__ == "__main__":
    main()
