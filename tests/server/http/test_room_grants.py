"""Room grants over HTTP against the real app (SQLite and PostgreSQL): who may manage them, and
that every room route asks for the grant of THAT room (moderation log, reviews, pin, overlay)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from server.app import create_app
from server.domain.accounts.roles import Role
from server.domain.accounts.tokens import ApiToken, hash_secret, new_secret
from server.http.keys import TOKENS
from tests.commerce import Buyer, Shop, csrf, make_shop
from tests.conftest import make_settings
from tests.helpers import add_room
from tests.reviews import account, jpeg, received_order, review_form

pytestmark = pytest.mark.timeout(90)


@pytest.fixture
async def shop(database_url: str, tmp_path: Path, aiohttp_client: Callable[..., Any]) -> Shop:
    client = await aiohttp_client(create_app(make_settings(database_url, media_dir=tmp_path / "media")))
    return await make_shop(client)


async def orchard(shop: Shop) -> Shop:
    """A second room selling the same product, with its own live session."""
    await add_room(shop.client, "orchard")
    session = await shop.call("POST", "/api/rooms/orchard/sessions", {"product_ids": [shop.product["id"]]}, status=201)
    return replace(shop, room="orchard", session=session)


async def send(shop: Shop, who: Buyer, method: str, path: str, body: Any = None) -> tuple[int, Any]:
    resp = await shop.client.request(method, path, json=body, headers=await csrf(shop.client, who))
    data = await resp.json() if resp.content_type == "application/json" else await resp.text()
    return resp.status, data


async def test_a_host_appoints_moderators_of_their_room_only_and_operators_grant_anything(shop: Shop) -> None:
    await orchard(shop)
    host = await account(shop, Role.HOST, "host")
    other_host = await account(shop, Role.HOST, "host2")
    helper = await account(shop, Role.VIEWER, "helper")
    viewer = await account(shop, Role.VIEWER, "viewer")
    mod = await account(shop, Role.MODERATOR, "mod")

    status, made = await send(shop, host, "POST", "/api/rooms/farm/grants", {"user_id": helper.user_id, "role": "moderator"})
    assert status == 201, made
    assert made["room"] == "farm" and made["role"] == "moderator" and made["subject"] == {
        "kind": "user", "id": helper.user_id, "nickname": made["subject"]["nickname"]}
    me = await (await shop.client.get("/api/me", headers=helper.headers)).json()
    assert me["rooms"] == {"farm": "moderator"} and me["role"] == "viewer"

    # Not hosts, not another room, not another host's grant; moderators and viewers manage nothing.
    for body in ({"user_id": viewer.user_id, "role": "host"}, {"user_id": other_host.user_id, "role": "moderator"}):
        assert (await send(shop, host, "POST", "/api/rooms/farm/grants", body))[0] == 403, body
    assert (await send(shop, host, "POST", "/api/rooms/orchard/grants", {"user_id": viewer.user_id, "role": "moderator"}))[0] == 403
    assert (await send(shop, host, "DELETE", f"/api/rooms/farm/grants/users/{other_host.user_id}"))[0] == 403
    assert (await send(shop, host, "GET", "/api/rooms/orchard/grants"))[0] == 403
    for who in (mod, helper, viewer):
        assert (await send(shop, who, "GET", "/api/rooms/farm/grants"))[0] == 403
        assert (await send(shop, who, "POST", "/api/rooms/farm/grants", {"user_id": viewer.user_id, "role": "moderator"}))[0] == 403
    assert (await shop.client.get("/api/rooms/farm/grants")).status == 401
    assert (await send(shop, host, "POST", "/api/rooms/farm/grants", {"identifier": "nobody@example.com", "role": "moderator"}))[0] == 404
    bad, body = await send(shop, host, "POST", "/api/rooms/farm/grants", {"user_id": 1, "identifier": "x@example.com", "role": "moderator"})
    assert bad == 422 and body["error"] == "invalid_input"
    assert (await send(shop, host, "POST", "/api/rooms/nowhere/grants", {"user_id": viewer.user_id, "role": "moderator"}))[0] == 404

    status, listed = await send(shop, host, "GET", "/api/rooms/farm/grants")
    assert status == 200
    assert sorted((g["subject"]["id"], g["role"]) for g in listed["grants"]) == sorted([
        (host.user_id, "host"), (other_host.user_id, "host"), (mod.user_id, "moderator"), (helper.user_id, "moderator")])

    status, removed = await send(shop, host, "DELETE", f"/api/rooms/farm/grants/users/{helper.user_id}")
    assert status == 200 and removed["role"] == "moderator"
    assert (await send(shop, host, "DELETE", f"/api/rooms/farm/grants/users/{helper.user_id}"))[0] == 404

    # Operators: hosts of any room, and every room's grants.
    made = await shop.call("POST", "/api/rooms/orchard/grants", {"user_id": host.user_id, "role": "host"}, status=201)
    assert made["role"] == "host" and made["room"] == "orchard"
    assert (await send(shop, host, "POST", "/api/rooms/orchard/grants", {"user_id": viewer.user_id, "role": "moderator"}))[0] == 201
    await shop.call("DELETE", f"/api/rooms/farm/grants/users/{other_host.user_id}", status=200)

    # API tokens hold grants too, given by operators only.
    secret = new_secret("fc")
    bot = await shop.client.app[TOKENS].add(ApiToken(None, "bot", Role.MODERATOR, hash_secret(secret), datetime.now(UTC)))
    bot_auth = {"Authorization": f"Bearer {secret}"}
    assert (await shop.client.get("/api/rooms/farm/moderation-log", headers=bot_auth)).status == 403
    assert (await send(shop, host, "POST", "/api/rooms/farm/grants", {"token_id": bot.id, "role": "moderator"}))[0] == 403
    made = await shop.call("POST", "/api/rooms/farm/grants", {"token_id": bot.id, "role": "moderator"}, status=201)
    assert made["subject"] == {"kind": "token", "id": bot.id, "nickname": None}
    assert (await shop.client.get("/api/rooms/farm/moderation-log", headers=bot_auth)).status == 200
    assert (await shop.client.get("/api/rooms/orchard/moderation-log", headers=bot_auth)).status == 403
    await shop.call("DELETE", f"/api/rooms/farm/grants/tokens/{bot.id}", status=200)
    assert (await shop.client.get("/api/rooms/farm/moderation-log", headers=bot_auth)).status == 403
    await shop.call("DELETE", f"/api/tokens/{bot.id}", status=204)
    assert (await shop.client.get("/api/rooms/farm/moderation-log", headers=bot_auth)).status == 401
    await shop.call("DELETE", "/api/tokens/999999", status=404)


async def test_every_room_route_checks_the_grant_of_that_room(shop: Shop) -> None:
    second = await orchard(shop)
    mod = await account(shop, Role.MODERATOR, "mod")  # moderator of farm
    host = await account(shop, Role.HOST, "host")  # host of farm
    buyer = await account(shop, Role.VIEWER, "buyer")

    # The moderation log.
    assert (await send(shop, mod, "GET", "/api/rooms/farm/moderation-log"))[0] == 200
    assert (await send(shop, mod, "GET", "/api/rooms/orchard/moderation-log"))[0] == 403
    assert (await send(shop, host, "GET", "/api/rooms/orchard/moderation-log"))[0] == 403
    assert (await shop.call("GET", "/api/rooms/orchard/moderation-log"))["room"] == "orchard"

    # Pinning a product, and the trace overlay: the room's host.
    pin = {"product_id": shop.product["id"]}
    assert (await send(shop, host, "POST", "/api/rooms/farm/pin", pin))[0] == 200
    assert (await send(shop, host, "POST", "/api/rooms/orchard/pin", pin))[0] == 403
    assert (await send(shop, mod, "POST", "/api/rooms/farm/pin", pin))[0] == 403
    assert (await send(shop, host, "DELETE", "/api/rooms/orchard/pin"))[0] == 403
    assert (await send(shop, host, "PUT", "/api/rooms/orchard/trace-overlay", {"devices": []}))[0] == 403
    # The stream key still pins (what the studio page and OBS hold).
    keyed = await shop.client.post("/api/rooms/farm/pin", json=pin, headers={"Authorization": f"Bearer {shop.stream_key}"})
    assert keyed.status == 200

    # Reviews belong to the room of the order they review.
    in_farm = await received_order(shop, buyer)
    in_orchard = await received_order(second, buyer)
    ids = {}
    # Different pictures: photos are stored by their hash, and one shared by both would be farm's too.
    for name, order_id, colour in (("farm", in_farm, (200, 60, 30)), ("orchard", in_orchard, (40, 160, 60))):
        form = review_form(order_id, 5, "很新鲜", [("a.jpg", jpeg(colour), "image/jpeg")])
        resp = await shop.client.post("/api/reviews", data=form, headers=await csrf(shop.client, buyer))
        assert resp.status == 201, await resp.text()
        ids[name] = (await resp.json())["review"]
    assert ids["orchard"]["room"] == "orchard"

    status, queue = await send(shop, mod, "GET", "/api/reviews?status=pending")
    assert status == 200 and [r["id"] for r in queue["reviews"]] == [ids["farm"]["id"]]
    assert (await send(shop, mod, "GET", "/api/reviews?status=pending&room=orchard"))[0] == 403
    assert (await send(shop, mod, "POST", f"/api/reviews/{ids['orchard']['id']}/approve"))[0] == 403
    assert (await send(shop, host, "POST", f"/api/reviews/{ids['orchard']['id']}/reject", {"reason": "不相关"}))[0] == 403
    photo = ids["orchard"]["photos"][0]["thumb"]
    assert (await shop.client.get(photo, headers=mod.headers)).status == 404  # pending, not their room
    assert (await shop.client.get(ids["farm"]["photos"][0]["thumb"], headers=mod.headers)).status == 200
    assert (await send(shop, mod, "POST", f"/api/reviews/{ids['farm']['id']}/approve"))[0] == 200
    approved = await shop.call("POST", f"/api/reviews/{ids['orchard']['id']}/approve", status=200)
    assert approved["review"]["status"] == "approved"
    everything = await shop.call("GET", "/api/reviews?status=all", status=200)
    assert {r["room"] for r in everything["reviews"]} == {"farm", "orchard"}
