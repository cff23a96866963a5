"""Accounts over HTTP: sign-up, sign-in (password and one-time code), CSRF, invites and roles."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import socketio
from aiohttp.test_utils import TestClient

from server.app import create_app
from server.domain.accounts.roles import Role
from server.http.keys import ACCOUNTS, REALTIME
from tests.conftest import make_settings


@pytest.fixture
async def client(database_url: str, aiohttp_client: Callable[..., Any]) -> TestClient:
    return await aiohttp_client(create_app(make_settings(database_url, login_codes_to_log=True)))


async def sign_up(client: TestClient, identifier: str = "13800138000", password: str = "tomato-2026") -> dict[str, Any]:
    """Sign-up (202, the same answer for a taken identifier), then sign-in with the new password."""
    resp = await client.post("/api/auth/register", json={"identifier": identifier, "password": password, "nickname": "小番茄"})
    assert resp.status == 202, await resp.text()
    assert "fc_session" not in resp.cookies
    resp = await client.post("/api/auth/login", json={"identifier": identifier, "password": password})
    assert resp.status == 200, await resp.text()
    body: dict[str, Any] = await resp.json()
    body["set_cookie"] = resp.headers.getall("Set-Cookie")
    return body


async def test_register_sets_an_httponly_session_and_me_knows_the_user(client: TestClient) -> None:
    body = await sign_up(client)
    assert body["user"]["identifier"] == "+8613800138000"
    assert body["user"]["role"] == "viewer" and body["user"]["nickname"] == "小番茄"
    session_cookie = [c for c in body["set_cookie"] if c.startswith("fc_session=")][0]
    assert "HttpOnly" in session_cookie and "SameSite=Lax" in session_cookie
    me = await (await client.get("/api/me")).json()
    assert me["user"]["id"] == body["user"]["id"] and me["csrf"] == body["csrf"]
    # The stored password is an argon2id hash, never the password.
    user = await client.app[ACCOUNTS].users.get(body["user"]["id"])
    assert user is not None and user.password_hash and user.password_hash.startswith("$argon2id$")


async def test_login_logout_and_wrong_password(client: TestClient) -> None:
    await sign_up(client, "grower@example.com")
    await client.post("/api/auth/logout", headers={"X-CSRF-Token": (await (await client.get("/api/me")).json())["csrf"]})
    assert (await (await client.get("/api/me")).json())["user"] is None
    bad = await client.post("/api/auth/login", json={"identifier": "grower@example.com", "password": "nope-nope"})
    assert bad.status == 401 and (await bad.json())["error"] == "unauthorized"
    unknown = await client.post("/api/auth/login", json={"identifier": "who@example.com", "password": "nope-nope"})
    assert unknown.status == 401
    ok = await client.post("/api/auth/login", json={"identifier": "GROWER@example.com", "password": "tomato-2026"})
    assert ok.status == 200


@pytest.mark.parametrize(
    "body",
    [
        {"identifier": "not a phone", "password": "long-enough-1"},
        {"identifier": "13800138000", "password": "short"},
        {"identifier": "13800138000", "password": "long-enough-1", "role": "operator"},
    ],
)
async def test_bad_registrations_get_a_clear_4xx(client: TestClient, body: dict[str, str]) -> None:
    resp = await client.post("/api/auth/register", json=body)
    assert 400 <= resp.status < 500
    assert (await resp.json())["message"]


async def test_registration_answers_the_same_whether_or_not_the_account_exists(client: TestClient) -> None:
    await sign_up(client)
    taken = await client.post("/api/auth/register", json={"identifier": "138 0013 8000", "password": "another-pass"})
    new = await client.post("/api/auth/register", json={"identifier": "13700137000", "password": "another-pass"})
    assert taken.status == new.status == 202
    assert await taken.json() == await new.json()
    assert "fc_session" not in taken.cookies and "fc_session" not in new.cookies
    # The existing account is untouched: its own password still works, the new one does not.
    assert (await client.post("/api/auth/login", json={"identifier": "13800138000", "password": "another-pass"})).status == 401
    assert (await client.post("/api/auth/login", json={"identifier": "13800138000", "password": "tomato-2026"})).status == 200
    assert (await client.post("/api/auth/login", json={"identifier": "13700137000", "password": "another-pass"})).status == 200


async def test_one_time_code_signs_in_and_wrong_codes_run_out(client: TestClient) -> None:
    sent: list[tuple[str, str]] = []
    client.app[ACCOUNTS].on_code = lambda ident, code: sent.append((ident, code))
    resp = await client.post("/api/auth/code", json={"identifier": "13900139000"})
    assert resp.status == 202
    ident, code = sent[-1]
    assert ident == "+8613900139000"
    wrong = "000000" if code != "000000" else "111111"
    assert (await client.post("/api/auth/code/verify", json={"identifier": "13900139000", "code": wrong})).status == 401
    ok = await client.post("/api/auth/code/verify", json={"identifier": "13900139000", "code": code})
    assert ok.status == 200
    assert (await ok.json())["user"]["nickname"] == "用户9000"
    # A code works once.
    again = await client.post("/api/auth/code/verify", json={"identifier": "13900139000", "code": code})
    assert again.status == 401
    # Five wrong guesses burn a fresh code too.
    await client.post("/api/auth/code", json={"identifier": "13900139000"})
    _, code = sent[-1]
    for _ in range(5):
        await client.post("/api/auth/code/verify", json={"identifier": "13900139000", "code": wrong})
    assert (await client.post("/api/auth/code/verify", json={"identifier": "13900139000", "code": code})).status == 401


async def test_cookie_writes_need_the_csrf_token(client: TestClient) -> None:
    body = await sign_up(client)
    resp = await client.patch("/api/me", json={"nickname": "新名字"})
    assert resp.status == 403 and "CSRF" in (await resp.json())["message"]
    resp = await client.patch("/api/me", json={"nickname": "新名字"}, headers={"X-CSRF-Token": "forged"})
    assert resp.status == 403
    resp = await client.patch("/api/me", json={"nickname": "新名字", "community": "阳光花园"}, headers={"X-CSRF-Token": body["csrf"]})
    assert resp.status == 200
    assert (await resp.json())["user"]["community"] == "阳光花园"


async def test_operator_invites_a_moderator_once(client: TestClient, aiohttp_client: Callable[..., Any]) -> None:
    accounts = client.app[ACCOUNTS]
    await accounts.register("ops@example.com", "operator-pass", "运营", role=Role.OPERATOR)
    login = await (await client.post("/api/auth/login", json={"identifier": "ops@example.com", "password": "operator-pass"})).json()
    csrf = {"X-CSRF-Token": login["csrf"]}
    resp = await client.post("/api/invites", json={"role": "moderator"}, headers=csrf)
    assert resp.status == 201
    invite = await resp.json()
    assert invite["url"].endswith(invite["token"])
    # A different browser: a viewer accepts it and becomes a moderator.
    other = await aiohttp_client(client.server)
    signed = await sign_up(other, "mod@example.com", "moderate-me")
    assert signed["user"]["role"] == "viewer"
    # A viewer cannot invite.
    assert (await other.post("/api/invites", json={"role": "host"}, headers={"X-CSRF-Token": signed["csrf"]})).status == 403
    accepted = await other.post("/api/invites/accept", json={"token": invite["token"]}, headers={"X-CSRF-Token": signed["csrf"]})
    assert accepted.status == 200 and (await accepted.json())["user"]["role"] == "moderator"
    third = await aiohttp_client(client.server)
    s3 = await sign_up(third, "late@example.com", "too-late-1")
    used = await third.post("/api/invites/accept", json={"token": invite["token"]}, headers={"X-CSRF-Token": s3["csrf"]})
    assert used.status == 409


async def test_operator_session_manages_rooms(client: TestClient) -> None:
    await client.app[ACCOUNTS].register("ops@example.com", "operator-pass", role=Role.OPERATOR)
    login = await (await client.post("/api/auth/login", json={"identifier": "ops@example.com", "password": "operator-pass"})).json()
    resp = await client.post("/api/rooms", json={"id": "by-session", "title": "t"}, headers={"X-CSRF-Token": login["csrf"]})
    assert resp.status == 201


async def test_socketio_knows_the_signed_in_user(client: TestClient) -> None:
    body = await sign_up(client)
    cookie = client.session.cookie_jar.filter_cookies(client.make_url("/"))["fc_session"].value
    sio = socketio.AsyncClient()
    await sio.connect(str(client.make_url("/")), headers={"Cookie": f"fc_session={cookie}"}, transports=["websocket"])
    try:
        # The server sees who connected: check through the realtime registry.
        realtime = client.app[REALTIME]
        sids = [sid for sid, _ in realtime.sio.manager.get_participants("/", None)]
        clients = [await realtime.client(sid) for sid in sids]
        assert any(c.user_id == body["user"]["id"] and c.role is Role.VIEWER for c in clients)
    finally:
        await sio.disconnect()
