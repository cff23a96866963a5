"""Cross-site writes against a running app: login CSRF, cookie writes from another site, what is
left open on purpose (non-browser clients, webhooks, WHIP/WHEP, bearer tokens), and a Bearer header
that authenticates alone."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from server.app import create_app
from server.http.keys import ACCOUNTS
from tests.conftest import make_settings
from tests.helpers import operator_token

EVIL = "http://evil.example"
CREDENTIALS = {"identifier": "grower@example.com", "password": "tomato-2026"}


async def app_client(aiohttp_client: Callable[..., Any], database_url: str, **extra: Any) -> TestClient:
    client: TestClient = await aiohttp_client(create_app(make_settings(database_url, **extra)))
    await client.app[ACCOUNTS].register(CREDENTIALS["identifier"], CREDENTIALS["password"])
    return client


def own_origin(client: TestClient) -> str:
    url = client.make_url("/")
    return f"{url.scheme}://{url.host}:{url.port}"


async def test_a_form_on_another_site_cannot_sign_the_browser_in(database_url: str, aiohttp_client: Callable[..., Any]) -> None:
    # What a plain HTML form sends: text/plain, the other site's Origin, cross-site fetch metadata.
    client = await app_client(aiohttp_client, database_url)
    resp = await client.post(
        "/api/auth/login", data=json.dumps(CREDENTIALS),
        headers={"Content-Type": "text/plain", "Origin": EVIL, "Sec-Fetch-Site": "cross-site"},
    )
    assert resp.status == 403
    body = await resp.json()
    assert body["error"] == "forbidden" and EVIL in body["message"]
    assert "fc_session" not in resp.cookies
    for path, payload in [("/api/auth/register", {**CREDENTIALS, "identifier": "new@example.com"}),
                          ("/api/auth/code", {"identifier": "13900139000"}),
                          ("/api/auth/code/verify", {"identifier": "13900139000", "code": "123456"})]:
        resp = await client.post(path, json=payload, headers={"Origin": EVIL})
        assert resp.status == 403, path


@pytest.mark.parametrize(
    ("headers", "status"),
    [
        ({}, 200),  # curl, OBS, a server: no browser, no victim
        ({"Origin": "SAME"}, 200),
        ({"Origin": "SAME", "Sec-Fetch-Site": "same-origin"}, 200),
        ({"Sec-Fetch-Site": "same-origin"}, 200),
        ({"Sec-Fetch-Site": "none"}, 200),  # the user's own navigation
        ({"Origin": EVIL}, 403),
        ({"Origin": "null"}, 403),  # sandboxed frames, data: URLs
        ({"Sec-Fetch-Site": "cross-site"}, 403),
        ({"Sec-Fetch-Site": "same-site"}, 403),  # a sibling subdomain is another origin
        ({"Origin": "http://127.0.0.1:1"}, 403),  # another port is another origin
    ],
)
async def test_sign_in_is_refused_unless_the_browser_says_it_is_this_site(
    database_url: str, aiohttp_client: Callable[..., Any], headers: dict[str, str], status: int,
) -> None:
    client = await app_client(aiohttp_client, database_url)
    sent = {k: own_origin(client) if v == "SAME" else v for k, v in headers.items()}
    resp = await client.post("/api/auth/login", json=CREDENTIALS, headers=sent)
    assert resp.status == status, await resp.text()


async def test_the_configured_public_url_is_this_site(database_url: str, aiohttp_client: Callable[..., Any]) -> None:
    client = await app_client(aiohttp_client, database_url, public_url="https://shop.example/")
    ok = await client.post("/api/auth/login", json=CREDENTIALS, headers={"Origin": "https://shop.example"})
    assert ok.status == 200
    # Behind a proxy the Host seen here is not what the browser used: the public URL decides.
    resp = await client.post("/api/auth/login", json=CREDENTIALS, headers={"Origin": own_origin(client)})
    assert resp.status == 403 and "https://shop.example" in (await resp.json())["message"]
    assert (await client.post("/api/auth/login", json=CREDENTIALS, headers={"Origin": "http://shop.example"})).status == 403


async def test_a_signed_in_browser_cannot_be_made_to_write_from_another_site(
    database_url: str, aiohttp_client: Callable[..., Any],
) -> None:
    client = await app_client(aiohttp_client, database_url)
    csrf = (await (await client.post("/api/auth/login", json=CREDENTIALS)).json())["csrf"]
    headers = {"X-CSRF-Token": csrf}
    resp = await client.patch("/api/me", json={"nickname": "被改了"}, headers={**headers, "Origin": EVIL})
    assert resp.status == 403
    resp = await client.post("/api/auth/logout", headers={**headers, "Sec-Fetch-Site": "cross-site"})
    assert resp.status == 403
    assert (await (await client.get("/api/me")).json())["user"]["nickname"] != "被改了"
    ok = await client.patch("/api/me", json={"nickname": "番茄"}, headers={**headers, "Origin": own_origin(client)})
    assert ok.status == 200


async def test_webhooks_whip_whep_and_bearer_tokens_are_not_origin_checked(
    database_url: str, aiohttp_client: Callable[..., Any],
) -> None:
    client = await app_client(aiohttp_client, database_url)
    evil = {"Origin": EVIL, "Sec-Fetch-Site": "cross-site"}
    # A payment provider's server: refused for its signature, not for where it came from.
    resp = await client.post("/api/webhooks/payments/pay_at_pickup", data=b"{}", headers=evil)
    assert resp.status == 401 and (await resp.json())["error"] == "bad_signature"
    # A WHEP player on another site (no room here: 404, not 403).
    resp = await client.post("/whep/no-such-room", data=b"v=0", headers={**evil, "Content-Type": "application/sdp"})
    assert resp.status == 404
    # A page on another site holding an API token: the token authenticates, no cookie involved.
    token = await operator_token(client)
    resp = await client.post("/api/rooms", json={"id": "from-elsewhere", "title": "t"},
                             headers={**evil, "Authorization": f"Bearer {token}"})
    assert resp.status == 201, await resp.text()
    # ...but a Bearer header does not open the sign-in routes to other sites (they set the cookie).
    resp = await client.post("/api/auth/login", json=CREDENTIALS, headers={**evil, "Authorization": f"Bearer {token}"})
    assert resp.status == 403


async def test_a_bearer_header_authenticates_alone(database_url: str, aiohttp_client: Callable[..., Any]) -> None:
    # Any Bearer header skips the CSRF check, so it must not let the session cookie ride along.
    client = await app_client(aiohttp_client, database_url)
    assert (await client.post("/api/auth/login", json=CREDENTIALS)).status == 200
    resp = await client.patch("/api/me", json={"nickname": "被改了"}, headers={"Authorization": "Bearer x"})
    assert resp.status == 401
    me = await (await client.get("/api/me", headers={"Authorization": "Bearer x"})).json()
    assert me["user"] is None and me["role"] == "viewer"
    assert (await (await client.get("/api/me")).json())["user"]["nickname"] != "被改了"
    # A real token is its own caller, whoever's cookie comes with it.
    token = await operator_token(client)
    me = await (await client.get("/api/me", headers={"Authorization": f"Bearer {token}"})).json()
    assert me["user"] is None and me["role"] == "operator"
