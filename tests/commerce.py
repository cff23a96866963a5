"""Commerce test helpers: a shop set up over the REST API, and buyers made in bulk (no password
hashing: thousands of them must be ready in a second or two)."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from aiohttp.test_utils import TestClient
from sqlalchemy import insert, select

from server.domain.accounts.sessions import sign
from server.domain.accounts.tokens import hash_secret
from server.http.commerce_keys import COMMERCE
from server.http.keys import DATABASE, SECRET
from server.persistence.tables import SessionRow, UserRow
from tests.helpers import add_room, operator_token

HOSTILE = [
    "<img src=x onerror=alert(1)>",
    "有机番茄" * 500,  # 2,000 characters
    "🍅🥬👨‍👩‍👧 新鲜",
    "\u202eنموذج عربي",
]


@dataclass
class Shop:
    client: TestClient
    token: str
    room: str
    product: dict[str, Any]
    community: dict[str, Any]
    point: dict[str, Any]
    session: dict[str, Any]
    extra: dict[str, Any] = field(default_factory=dict)
    stream_key: str = ""  # the room's, as its host's studio holds it

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    async def call(self, method: str, path: str, body: Any = None, status: int | None = None, **kw: Any) -> Any:
        if "data" not in kw:
            kw["json"] = body
        resp = await self.client.request(method, path, headers={**self.auth, **kw.pop("headers", {})}, **kw)
        data = await resp.json() if resp.content_type == "application/json" else await resp.text()
        if status is not None:
            assert resp.status == status, (resp.status, data)
        return data


async def make_shop(client: TestClient, *, price_fen: int = 1280, stock: int = 500, room: str = "farm") -> Shop:
    stream_key = await add_room(client, room)
    token = await operator_token(client)
    shop = Shop(client, token, room, {}, {}, {}, {}, stream_key=stream_key)
    shop.product = await shop.call("POST", "/api/products", {
        "name_zh": "高山有机番茄", "name_en": "Highland organic tomatoes", "gtin": "6901234567892",
        "unit": "500g", "price_fen": price_fen, "stock": stock}, status=201)
    shop.community = await shop.call("POST", "/api/communities", {
        "name": "阳光花园", "leader_name": "王阿姨", "leader_phone": "13800000000"}, status=201)
    shop.point = await shop.call("POST", f"/api/communities/{shop.community['id']}/pickup-points", {
        "name": "3号楼驿站", "address": "阳光花园3号楼一层", "hours": "18:00-21:00"}, status=201)
    shop.session = await shop.call("POST", f"/api/rooms/{room}/sessions", {
        "title": "番茄专场", "product_ids": [shop.product["id"]]}, status=201)
    return shop


def pickup(shop: Shop, name: str = "李女士", phone: str = "13912345678") -> dict[str, Any]:
    return {"fulfilment": "pickup", "pickup_point_id": shop.point["id"], "contact_name": name, "contact_phone": phone}


@dataclass
class Buyer:
    user_id: int
    cookie: str  # the signed session cookie value

    @property
    def headers(self) -> dict[str, str]:
        return {"Cookie": f"fc_session={self.cookie}"}


async def make_buyers(client: TestClient, n: int, community_id: int | None, prefix: str = "b") -> list[Buyer]:
    """n signed-in viewers of that community, inserted in one transaction."""
    app = client.app
    db = app[DATABASE]
    now = datetime.now(UTC)
    tag = secrets.token_hex(3)
    idents = [f"{prefix}{tag}{i}@example.com" for i in range(n)]
    async with db.session() as s:
        await s.execute(insert(UserRow), [
            {"identifier": ident, "nickname": f"邻居{i}", "role": "viewer", "password_hash": None, "community": "",
             "community_id": community_id, "created_at": now} for i, ident in enumerate(idents)])
        rows = (await s.execute(select(UserRow.id, UserRow.identifier).where(UserRow.identifier.in_(idents)))).all()  # type: ignore[attr-defined]
        ids = {ident: uid for uid, ident in rows}
        tokens = [secrets.token_urlsafe(24) for _ in idents]
        await s.execute(insert(SessionRow), [
            {"token_hash": hash_secret(tok), "user_id": ids[ident], "created_at": now, "expires_at": now + timedelta(days=1),
             "revoked": False} for ident, tok in zip(idents, tokens)])
        await s.commit()
    secret = app[SECRET]
    return [Buyer(ids[ident], sign(secret, tok)) for ident, tok in zip(idents, tokens)]


async def csrf(client: TestClient, buyer: Buyer) -> dict[str, str]:
    me = await (await client.get("/api/me", headers=buyer.headers)).json()
    return {**buyer.headers, "X-CSRF-Token": me["csrf"]}


def key() -> str:
    return "k-" + secrets.token_hex(8)


async def clear_redis(url: str, db_url: str) -> None:
    import redis.asyncio as aioredis

    from server.persistence.db import async_url

    ns = "fc:" + hashlib.sha1(async_url(db_url).encode()).hexdigest()[:10]
    r = aioredis.from_url(url)
    try:
        keys = [k async for k in r.scan_iter(f"{ns}:*")]
        if keys:
            await r.delete(*keys)
    finally:
        await r.aclose()


def commerce(client: TestClient) -> Any:
    return client.app[COMMERCE]

