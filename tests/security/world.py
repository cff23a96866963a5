"""A running app with one of everything (room, product, order, review, device, batch, ...) and each
kind of caller the security suite calls routes as. Everything is made through the HTTP API where
the API makes it, so the ids are real and a refusal cannot hide behind a 404.

Who is a host or moderator is decided in one place, `grant`: when roles become room-scoped, it
grants the role for the world's room (and the matrix gains "of another room" callers).
"""

from __future__ import annotations

import io
import json
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any

from aiohttp import ClientResponse
from aiohttp.test_utils import TestClient
from PIL import Image

from server.domain.accounts.grants import user_subject
from server.domain.accounts.roles import Role
from server.http.keys import ACCOUNTS, GRANTS
from server.integrations.payments.test_provider import SIGNATURE_HEADER, sign
from tests.commerce import Buyer, Shop, csrf, key, make_buyers, make_shop, pickup
from tests.helpers import add_room
from tests.reviews import received_order, review_form
from tests.trace_helpers import GTIN, LOT, capture, journey, register_batch

PAYMENTS_SECRET = "whsec-security-suite"


class Kind(StrEnum):
    """Each kind of caller a route may allow."""

    ANONYMOUS = "anonymous"
    VIEWER = "viewer"  # signed in, no staff role
    MODERATOR = "moderator"
    HOST = "host"
    # The same roles granted in another room: in this world's room they are only signed-in buyers.
    MODERATOR_ELSEWHERE = "moderator_elsewhere"
    HOST_ELSEWHERE = "host_elsewhere"
    OPERATOR = "operator"
    STREAM_KEY = "stream_key"  # the room's stream key as a Bearer token (OBS, the studio page)
    DEVICE = "device"  # a sensor device's token as a Bearer token
    WEBHOOK = "webhook"  # the payment provider: no account, a valid signature over the body


ELSEWHERE = "elsewhere"  # the other room, where the *_ELSEWHERE callers hold their grants


@dataclass(frozen=True)
class Payload:
    data: bytes
    content_type: str

    @staticmethod
    def json(value: Any) -> Payload:
        return Payload(json.dumps(value).encode(), "application/json")


@dataclass
class World:
    shop: Shop
    ids: dict[str, str] = field(default_factory=dict)  # path placeholders -> real values
    callers: dict[Kind, dict[str, str]] = field(default_factory=dict)  # kind -> request headers

    @property
    def client(self) -> TestClient:
        return self.shop.client

    async def signed_in(self, kind: Kind) -> dict[str, str]:
        """Fresh credentials of `kind` (for calls that end them, such as signing out)."""
        if kind is Kind.VIEWER:
            return await csrf(self.client, (await make_buyers(self.client, 1, self.shop.community["id"], prefix="v"))[0])
        role, room = {
            Kind.MODERATOR: (Role.MODERATOR, self.shop.room), Kind.HOST: (Role.HOST, self.shop.room),
            Kind.OPERATOR: (Role.OPERATOR, self.shop.room),
            Kind.MODERATOR_ELSEWHERE: (Role.MODERATOR, ELSEWHERE), Kind.HOST_ELSEWHERE: (Role.HOST, ELSEWHERE),
        }[kind]
        buyer = (await make_buyers(self.client, 1, self.shop.community["id"], prefix=kind.value[:3] + kind.value[-3:]))[0]
        await grant(self, buyer, role, room)
        return await csrf(self.client, buyer)

    async def call(self, method: str, path: str, kind: Kind, payload: Payload | None,
                   headers: dict[str, str] | None = None) -> ClientResponse:
        self.client.session.cookie_jar.clear()  # only the credentials given here count
        sent = dict(self.callers[kind] if headers is None else headers)
        if "Cookie" in sent:
            sent["Sec-Fetch-Site"] = "same-origin"  # what a browser on our own pages sends with the cookie
        data = payload.data if payload is not None else None
        if payload is not None:
            sent["Content-Type"] = payload.content_type
        if kind is Kind.WEBHOOK:
            sent[SIGNATURE_HEADER] = sign(PAYMENTS_SECRET, data or b"")
        return await self.client.request(method, path, data=data, headers=sent, allow_redirects=False)


async def grant(world: World, who: Buyer, role: Role, room: str) -> None:
    """Make `who` a `role`: operators are global; a host or moderator is one of `room` (a grant)."""
    accounts = world.client.app[ACCOUNTS]
    user = await accounts.users.get(who.user_id)
    assert user is not None
    await accounts.set_role(user, role)
    if role in (Role.HOST, Role.MODERATOR):
        await world.client.app[GRANTS].grant(Role.OPERATOR, "matrix", room, user_subject(who.user_id), role)


def _jpeg() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (320, 240), (40, 140, 60)).save(out, "JPEG")
    return out.getvalue()


async def _ok(resp: ClientResponse, status: int = 201) -> Any:
    assert resp.status == status, (resp.method, resp.url, resp.status, await resp.text())
    return await resp.json() if resp.content_type == "application/json" else await resp.text()


async def build_world(client: TestClient) -> World:
    shop = await make_shop(client)
    world = World(shop)
    op = shop.auth
    viewer = (await make_buyers(client, 1, shop.community["id"], prefix="w"))[0]
    world.callers[Kind.ANONYMOUS] = {}
    world.callers[Kind.WEBHOOK] = {}
    world.callers[Kind.VIEWER] = await csrf(client, viewer)
    await add_room(client, ELSEWHERE)
    for kind in (Kind.MODERATOR, Kind.HOST, Kind.OPERATOR, Kind.MODERATOR_ELSEWHERE, Kind.HOST_ELSEWHERE):
        world.callers[kind] = await world.signed_in(kind)
    world.callers[Kind.STREAM_KEY] = {"Authorization": f"Bearer {shop.stream_key}"}

    now = datetime.now(UTC)
    pool = (await _ok(await client.post(f"/api/sessions/{shop.session['id']}/group-buys", headers=op, json={
        "product_id": shop.product["id"], "community_ids": [shop.community["id"]],
        "tiers": [{"buyers": 3, "discount_fen": 100}], "deadline": (now + timedelta(hours=1)).isoformat(),
        "failure_rule": "ship_at_list"})))[0]
    claim = await _ok(await client.post(f"/api/sessions/{shop.session['id']}/flash-claims", headers=op, json={
        "product_id": shop.product["id"], "price_fen": 100, "quantity": 5, "per_buyer_limit": 1,
        "starts_at": now.isoformat(), "ends_at": (now + timedelta(hours=1)).isoformat()}))
    order = (await _ok(await client.post("/api/orders", headers=world.callers[Kind.VIEWER], json={
        "room_id": shop.room, "product_id": shop.product["id"], "quantity": 1, "delivery": pickup(shop),
        "payment_method": "test", "idempotency_key": key()})))["order"]
    # Reviews with a photo, by buyers whose orders were collected: one for the moderation routes to
    # act on, one that stays pending (its photo is not public).
    reviews = []
    for i in range(2):
        reviewer = (await make_buyers(client, 1, shop.community["id"], prefix=f"r{i}"))[0]
        form = review_form(await received_order(shop, reviewer), 5, "好", [("a.jpg", _jpeg(), "image/jpeg")])
        reviews.append((await _ok(await client.post("/api/reviews", data=form, headers=await csrf(client, reviewer))))["review"])
    review, pending = reviews
    sha, size = re.search(r"/media/reviews/([0-9a-f]{64})-(\d+)\.jpg", pending["photos"][0]["thumb"]).groups()  # type: ignore[union-attr]
    device = await _ok(await client.post("/api/sensors/devices", headers=op, json={"id": "truck-1", "name": "冷链车", "kind": "truck"}))
    world.callers[Kind.DEVICE] = {"Authorization": f"Bearer {device['token']}"}
    await _ok(await client.post("/api/sensors/devices", headers=op, json={"id": "doomed-1", "name": "旧设备"}))
    await register_batch(client, shop.token)
    captured = await capture(client, shop.token, journey()[:2])
    trace_photo = await _ok(await client.post("/api/trace/photos", headers=op, data=_jpeg()))
    product = await _ok(await client.post(f"/api/products/{shop.product['id']}/photos", headers=op, data=_jpeg()))
    # Rooms that destructive calls may use up (deleted, re-keyed, their session ended).
    await add_room(client, "doomed")
    await add_room(client, "rekeyed")
    await add_room(client, "ending")
    ending = await _ok(await client.post("/api/rooms/ending/sessions", headers=op, json={"title": "ends"}))
    world.ids.update(
        room_id=shop.room, product_id=str(shop.product["id"]), community_id=str(shop.community["id"]),
        session_id=str(shop.session["id"]), group_buy_id=str(pool["id"]), claim_id=str(claim["id"]),
        order_id=str(order["id"]), review_id=str(review["id"]), device_id="truck-1", gtin=GTIN, lot=LOT,
        event_id=captured["eventIDs"][0], index="0", size="1", sha256=trace_photo["url"].rsplit("/", 1)[1],
        name=product["photos"][-1].rsplit("/", 1)[1], provider="test", tail="orders",
        review_sha256=sha, review_size=size, ending_session_id=str(ending["id"]),
        order_due_fen=str(order["due_fen"]), user_id=str(viewer.user_id),
    )
    return world
