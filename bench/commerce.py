"""Flash claims and group-buy fan-out against a real server process with Redis + PostgreSQL.

flash_claims_per_s / flash_claim_p99_ms: N separate Socket.IO clients (this process) race for a
limited flash claim on one server node (a child process); claims/s is N over the time from the
first claim sent to the last answer, p99 is each client's send-to-answer time.
oversold / lost_orders: units claimed beyond the quantity (SQL, Redis, answers), and answered
orders missing from PostgreSQL after the race. Both must be 0.
groupbuy_fanout_p99_ms: from sending an order to its group-buy progress reaching each of the N
connected viewers.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import secrets
import statistics
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp
import asyncpg

from server.domain.accounts.sessions import sign
from server.domain.accounts.tokens import hash_secret

from .server_proc import start_server
from .sio_lite import LiteClient, connect_crowd

N_CLIENTS = int(os.environ.get("BENCH_COMMERCE_CLIENTS", "2000"))
CLAIM_UNITS = 500
FANOUT_ROUNDS = 5
PG_ADMIN = os.environ.get("FIELDCAST_TEST_PG", "postgresql://postgres@127.0.0.1:5432/postgres")
REDIS_URL = os.environ.get("FIELDCAST_TEST_REDIS", "redis://127.0.0.1:6379/0")
ROOM = "bench"


def p99(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))]


async def _admin(sql: str) -> None:
    conn = await asyncpg.connect(PG_ADMIN)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


def _operator_token(env: dict[str, str]) -> str:
    out = subprocess.run([sys.executable, "-m", "server", "token", "--role", "operator", "--label", "bench"],
                         env=env, check=True, capture_output=True, text=True).stdout
    return out.strip().splitlines()[-1]


async def _buyers(db_url: str, n: int, community_id: int) -> list[str]:
    """n signed-in viewers of the community, straight into the database (no password hashing)."""
    conn = await asyncpg.connect(db_url)
    try:
        now = datetime.now(UTC)
        tag = secrets.token_hex(3)
        rows = await conn.fetch(
            "INSERT INTO users (identifier, nickname, role, community, community_id, created_at) "
            "SELECT 'bench' || $1 || g || '@example.com', '邻居' || g, 'viewer', '', $2, $3 "
            "FROM generate_series(1, $4) g RETURNING id", tag, community_id, now, n)
        tokens = [secrets.token_urlsafe(24) for _ in rows]
        await conn.executemany(
            "INSERT INTO sessions (token_hash, user_id, created_at, expires_at, revoked) VALUES ($1, $2, $3, $4, false)",
            [(hash_secret(t), r["id"], now, now + timedelta(days=1)) for t, r in zip(tokens, rows)])
        secret = bytes.fromhex(await conn.fetchval("SELECT value FROM server_secrets WHERE name = 'cookies'"))
    finally:
        await conn.close()
    return [f"fc_session={sign(secret, t)}" for t in tokens]


async def _run(base: str, env: dict[str, str], db_url: str) -> dict[str, float]:
    token = _operator_token(env)
    auth = {"Authorization": f"Bearer {token}"}
    http = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0))
    try:
        async def api(method: str, path: str, body: Any = None) -> Any:
            async with http.request(method, base + path, json=body, headers=auth) as resp:
                data = await resp.json()
                assert resp.status < 300, (path, resp.status, data)
                return data

        product = await api("POST", "/api/products", {"name_zh": "高山有机番茄", "unit": "500g", "price_fen": 1280, "stock": 100_000})
        community = await api("POST", "/api/communities", {"name": "阳光花园", "leader_name": "王阿姨"})
        point = await api("POST", f"/api/communities/{community['id']}/pickup-points", {"name": "3号楼驿站", "address": "3号楼一层"})
        session = await api("POST", f"/api/rooms/{ROOM}/sessions", {"product_ids": [product["id"]]})
        now = datetime.now(UTC)
        await api("POST", f"/api/sessions/{session['id']}/group-buys", {
            "product_id": product["id"], "community_ids": [community["id"]],
            "tiers": [{"buyers": 20, "discount_fen": 100}, {"buyers": 40, "discount_fen": 200}],
            "deadline": (now + timedelta(hours=1)).isoformat()})
        claim = await api("POST", f"/api/sessions/{session['id']}/flash-claims", {
            "product_id": product["id"], "price_fen": 100, "quantity": CLAIM_UNITS, "per_buyer_limit": 1,
            "starts_at": (now - timedelta(seconds=1)).isoformat(), "ends_at": (now + timedelta(minutes=30)).isoformat()})
        delivery = {"fulfilment": "pickup", "pickup_point_id": point["id"], "contact_name": "李女士", "contact_phone": "13912345678"}

        cookies = await _buyers(db_url, N_CLIENTS, community["id"])
        clients = await connect_crowd(http, base, cookies)
        await asyncio.gather(*(c.call("shop.join", {"room": ROOM}) for c in clients))
        print(f"  {len(clients)} clients connected and in the room", file=sys.stderr)

        # -- the race ---------------------------------------------------------------------------
        loop = asyncio.get_running_loop()
        latencies: list[float] = []
        answers: list[dict[str, Any]] = []

        async def attempt(c: LiteClient) -> None:
            sent = loop.time()
            answer = await c.call("claim", {"claim_id": claim["id"], "delivery": delivery,
                                            "idempotency_key": "bench-" + secrets.token_hex(8)})
            latencies.append(loop.time() - sent)
            answers.append(answer)

        started = loop.time()
        await asyncio.gather(*(attempt(c) for c in clients))
        elapsed = loop.time() - started
        won = [a["order"]["id"] for a in answers if a.get("ok")]
        codes: dict[str, int] = {}
        for a in answers:
            codes[a.get("error", "ok")] = codes.get(a.get("error", "ok"), 0) + 1
        print(f"  answers: {codes}", file=sys.stderr)

        await asyncio.sleep(1.5)  # the server applies Redis-taken units to SQL every 0.5 s
        conn = await asyncpg.connect(db_url)
        try:
            stored = {r["id"] for r in await conn.fetch("SELECT id FROM orders WHERE claim_id = $1", claim["id"])}
            sql_left = await conn.fetchval("SELECT remaining FROM flash_claims WHERE id = $1", claim["id"])
        finally:
            await conn.close()
        left = (await api("GET", f"/api/flash-claims/{claim['id']}"))["remaining"]
        oversold = (max(0, len(won) - CLAIM_UNITS) + max(0, len(stored) - CLAIM_UNITS)
                    + max(0, -sql_left) + max(0, -left))
        lost = len(set(won) - stored)

        # -- group-buy fan-out ------------------------------------------------------------------
        arrivals: dict[int, list[float]] = {}
        for c in clients:
            c.handlers["groupbuy.progress"] = lambda data, at: arrivals.setdefault(int(data["buyers"]), []).append(at)
        fanout: list[float] = []
        buyers_now = len({a["order"]["id"] for a in answers if a.get("ok")}) and 0
        for round_ in range(FANOUT_ROUNDS):
            buyer = clients[-1 - round_]
            sent = loop.time()
            answer = await buyer.call("order.create", {
                "room_id": ROOM, "product_id": product["id"], "quantity": 1, "delivery": delivery,
                "idempotency_key": "fan-" + secrets.token_hex(8)})
            assert answer.get("ok"), answer
            target = buyers_now + round_ + 1
            deadline = loop.time() + 10
            while len(arrivals.get(target, [])) < len(clients) and loop.time() < deadline:
                await asyncio.sleep(0.01)
            fanout += [at - sent for at in arrivals.get(target, [])]
            missing = len(clients) - len(arrivals.get(target, []))
            if missing:
                print(f"  round {round_}: {missing} viewers got no update", file=sys.stderr)
                fanout += [10.0] * missing
            await asyncio.sleep(0.5)
        await asyncio.gather(*(c.close() for c in clients))
        return {
            "clients": len(clients),
            "flash_claims_per_s": len(clients) / elapsed,
            "flash_claim_p99_ms": p99(latencies) * 1000,
            "flash_claim_median_ms": statistics.median(latencies) * 1000,
            "oversold": oversold,
            "lost_orders": lost,
            "groupbuy_fanout_p99_ms": p99(fanout) * 1000,
        }
    finally:
        await http.close()


def main() -> None:
    name = f"fieldcast_bench_{secrets.token_hex(4)}"
    asyncio.run(_admin(f'CREATE DATABASE "{name}"'))
    db_url = f"{PG_ADMIN.rsplit('/', 1)[0]}/{name}"
    server = None
    try:
        server, _ = start_server([(ROOM, [])], settings={
            "FIELDCAST_DATABASE_URL": db_url, "FIELDCAST_REDIS_URL": REDIS_URL})
        result = asyncio.run(_run(server.base, server.env, db_url))
        print(f"flash_claim_clients: {result['clients']}")
        print(f"flash_claims_per_s: {result['flash_claims_per_s']:.0f}")
        print(f"flash_claim_p99_ms: {result['flash_claim_p99_ms']:.0f}")
        print(f"flash_claim_median_ms: {result['flash_claim_median_ms']:.0f}")
        print(f"oversold: {result['oversold']:.0f}")
        print(f"lost_orders: {result['lost_orders']:.0f}")
        print(f"groupbuy_fanout_p99_ms: {result['groupbuy_fanout_p99_ms']:.0f}")
    finally:
        if server is not None:
            server.stop()
        asyncio.run(_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        import redis

        ns = "fc:" + hashlib.sha1(("postgresql+asyncpg://" + db_url.split("://", 1)[1]).encode()).hexdigest()[:10]
        r = redis.Redis.from_url(REDIS_URL)
        keys = list(r.scan_iter(f"{ns}:*"))
        if keys:
            r.delete(*keys)


if __name__ == "__main__":
    main()
