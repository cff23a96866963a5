"""Rooms over HTTP: operators manage them with a token; the public sees no secrets."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from server.app import create_app
from tests.conftest import make_settings
from tests.helpers import operator_token


@pytest.fixture
async def client(database_url: str, aiohttp_client: Callable[..., Any]) -> TestClient:
    return await aiohttp_client(create_app(make_settings(database_url)))


async def test_operator_creates_room_and_gets_the_key_once(client: TestClient) -> None:
    token = await operator_token(client)
    auth = {"Authorization": f"Bearer {token}"}
    resp = await client.post(
        "/api/rooms",
        json={"id": "tomato-live", "title": "番茄直播", "brand": "青禾农场", "orientation": "landscape"},
        headers=auth,
    )
    assert resp.status == 201, await resp.text()
    body = await resp.json()
    assert body["stream_key"].startswith("sk_")
    assert (body["width"], body["height"]) == (1280, 720)
    assert resp.headers["Location"] == "/api/rooms/tomato-live"

    public = await (await client.get("/api/rooms/tomato-live")).json()
    assert public["title"] == "番茄直播"
    assert "stream_key" not in public and "stream_key_hash" not in public
    assert public["live"] is False and public["viewers"] == 0

    listed = await (await client.get("/api/rooms", headers=auth)).json()
    assert [r["id"] for r in listed] == ["tomato-live"]


async def test_room_api_refuses_missing_bad_or_underpowered_tokens(client: TestClient) -> None:
    body = {"id": "x-room", "title": "t"}
    resp = await client.post("/api/rooms", json=body)
    assert resp.status == 401
    assert (await resp.json())["error"] == "unauthorized"
    resp = await client.post("/api/rooms", json=body, headers={"Authorization": "Bearer fc_nope"})
    assert resp.status == 401
    from datetime import UTC, datetime

    from server.domain.accounts.roles import Role
    from server.domain.accounts.tokens import ApiToken, hash_secret
    from server.http.keys import TOKENS

    await client.app[TOKENS].add(ApiToken(None, "mod", Role.MODERATOR, hash_secret("fc_mod"), datetime.now(UTC)))
    resp = await client.post("/api/rooms", json=body, headers={"Authorization": "Bearer fc_mod"})
    assert resp.status == 403
    assert (await client.get("/api/rooms")).status == 401


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({"id": "Bad Id!", "title": "t"}, 400),
        ({"id": "ok-id", "title": ""}, 422),
        ({"id": "ok-id", "title": "t", "orientation": "diagonal"}, 422),
        ({"id": "ok-id", "title": "t", "stream_key_hash": "x"}, 422),
    ],
)
async def test_bad_room_bodies_get_a_clear_4xx(client: TestClient, body: dict[str, str], status: int) -> None:
    token = await operator_token(client)
    resp = await client.post("/api/rooms", json=body, headers={"Authorization": f"Bearer {token}"})
    assert resp.status == status
    reply = await resp.json()
    assert reply["error"] and reply["message"]


async def test_non_json_body_is_a_400(client: TestClient) -> None:
    token = await operator_token(client)
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    resp = await client.post("/api/rooms", data=b"{nope", headers=headers)
    assert resp.status == 400


async def test_duplicate_room_is_a_conflict_and_keeps_the_first(client: TestClient) -> None:
    token = await operator_token(client)
    auth = {"Authorization": f"Bearer {token}"}
    first = await client.post("/api/rooms", json={"id": "dup", "title": "first"}, headers=auth)
    assert first.status == 201
    again = await client.post("/api/rooms", json={"id": "dup", "title": "second"}, headers=auth)
    assert again.status == 409
    assert (await (await client.get("/api/rooms/dup")).json())["title"] == "first"


async def test_unknown_room_is_404_everywhere(client: TestClient) -> None:
    assert (await client.get("/api/rooms/nowhere")).status == 404
    page = await client.get("/r/nowhere")
    assert page.status == 404 and page.content_type == "text/html"
    resp = await client.post("/whep/nowhere", data="v=0\r\n", headers={"Content-Type": "application/sdp"})
    assert resp.status == 404


async def test_rotating_the_key_retires_the_old_one(client: TestClient) -> None:
    token = await operator_token(client)
    auth = {"Authorization": f"Bearer {token}"}
    created = await (await client.post("/api/rooms", json={"id": "rot", "title": "t"}, headers=auth)).json()
    rotated = await (await client.post("/api/rooms/rot/stream-key", headers=auth)).json()
    assert rotated["stream_key"] != created["stream_key"]
    sdp = {"Content-Type": "application/sdp"}
    old = await client.post("/whip/rot", data="v=0\r\n", headers={**sdp, "Authorization": f"Bearer {created['stream_key']}"})
    assert old.status == 401
    # The new key gets past authentication (and then fails on the junk SDP, not on the key).
    new = await client.post("/whip/rot", data="v=0\r\n", headers={**sdp, "Authorization": f"Bearer {rotated['stream_key']}"})
    assert new.status == 400


async def test_rename_and_delete(client: TestClient) -> None:
    token = await operator_token(client)
    auth = {"Authorization": f"Bearer {token}"}
    await client.post("/api/rooms", json={"id": "ren", "title": "old"}, headers=auth)
    resp = await client.patch("/api/rooms/ren", json={"title": "新标题"}, headers=auth)
    assert resp.status == 200 and (await resp.json())["title"] == "新标题"
    assert (await client.delete("/api/rooms/ren", headers=auth)).status == 204
    assert (await client.get("/api/rooms/ren")).status == 404


async def test_health_reports_database(client: TestClient) -> None:
    resp = await client.get("/healthz")
    assert resp.status == 200
    assert (await resp.json())["database"] == "ok"
