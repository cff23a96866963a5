"""GET /api/rooms/{room}/moderation-log: staff (by session or API token) read it; nobody else."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from aiohttp.test_utils import TestClient

from server.app import create_app
from server.domain.accounts.roles import Role
from server.domain.voice.moderation import Actor
from server.http.chat_keys import MODERATION
from server.http.keys import ACCOUNTS
from tests.conftest import make_settings
from tests.helpers import add_room, operator_token, staff_account


async def signed_in(client: TestClient[Any, Any], aiohttp_client: Callable[..., Any], role: Role, name: str) -> TestClient[Any, Any]:
    browser: TestClient[Any, Any] = await aiohttp_client(client.server)
    await staff_account(client.app, f"{name}@example.com", "long-enough-1", name, role)  # hosts and moderators of farm
    resp = await browser.post("/api/auth/login", json={"identifier": f"{name}@example.com", "password": "long-enough-1"})
    assert resp.status == 200
    return browser


async def test_moderation_log_is_for_staff_only(database_url: str, aiohttp_client: Callable[..., Any]) -> None:
    client: TestClient[Any, Any] = await aiohttp_client(create_app(make_settings(database_url)))
    await add_room(client, "farm")
    host_user = await client.app[ACCOUNTS].register("h0@example.com", "long-enough-1", "主播", role=Role.HOST)
    await client.app[MODERATION].set_slow_mode(Actor(host_user.id, "主播", Role.HOST), "farm", 10)
    await client.app[MODERATION].set_blocked_words(Actor(None, "token:ops", Role.OPERATOR), "farm", ["微信"])

    for role in (Role.MODERATOR, Role.HOST, Role.OPERATOR):
        browser = await signed_in(client, aiohttp_client, role, f"staff-{role.value}")
        resp = await browser.get("/api/rooms/farm/moderation-log")
        assert resp.status == 200, (role, await resp.text())
        body = await resp.json()
        assert [e["action"] for e in body["entries"]] == ["filter", "slow_mode"]
        assert body["entries"][1]["actor"] == "主播" and body["entries"][1]["detail"] == {"seconds": 10}
        assert body["entries"][0]["actor"] == "token:ops" and body["entries"][0]["actor_id"] is None
    paged = await (await browser.get(f"/api/rooms/farm/moderation-log?limit=1&before={body['entries'][0]['id']}")).json()
    assert [e["action"] for e in paged["entries"]] == ["slow_mode"]

    token = await operator_token(client)
    anon = await aiohttp_client(client.server)
    assert (await anon.get("/api/rooms/farm/moderation-log", headers={"Authorization": f"Bearer {token}"})).status == 200
    resp = await anon.get("/api/rooms/farm/moderation-log")
    assert resp.status == 401 and (await resp.json())["error"] == "unauthorized"
    for role in (Role.VIEWER, Role.KOC):
        browser = await signed_in(client, aiohttp_client, role, f"nope-{role.value}")
        resp = await browser.get("/api/rooms/farm/moderation-log")
        assert resp.status == 403 and (await resp.json())["error"] == "forbidden", role
    staff = await signed_in(client, aiohttp_client, Role.MODERATOR, "mod2")
    assert (await staff.get("/api/rooms/nowhere/moderation-log")).status == 404
    bad = await staff.get("/api/rooms/farm/moderation-log?limit=9999")
    assert bad.status == 422 and (await bad.json())["error"] == "invalid_input"
