"""Which address a per-address limit counts: X-Forwarded-For only from a trusted proxy."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from server.app import create_app
from server.http.client_address import forwarded_client
from tests.conftest import make_settings


async def statuses(client: Any, forwarded_for: str, n: int) -> list[int]:
    out = []
    for i in range(n):
        resp = await client.post("/api/auth/login", json={"identifier": f"who{i}@example.com", "password": "spray-1234"},
                                 headers={"X-Forwarded-For": forwarded_for})
        out.append(resp.status)
    return out


async def test_behind_a_trusted_proxy_each_client_address_is_counted_apart(
    sqlite_url: str, aiohttp_client: Callable[..., Any],
) -> None:
    client = await aiohttp_client(create_app(make_settings(
        sqlite_url, trusted_proxies=["127.0.0.1/32", "10.0.0.0/8"], signin_password_tries_per_ip=2)))
    assert await statuses(client, "203.0.113.5", 3) == [401, 401, 429]
    # Another client behind the same proxy (and a second proxy hop) has its own count.
    assert await statuses(client, "203.0.113.6, 10.1.2.3", 2) == [401, 401]


async def test_without_a_trusted_proxy_the_header_changes_nothing(
    sqlite_url: str, aiohttp_client: Callable[..., Any],
) -> None:
    client = await aiohttp_client(create_app(make_settings(sqlite_url, signin_password_tries_per_ip=2)))
    assert await statuses(client, "203.0.113.5", 2) == [401, 401]
    assert await statuses(client, "198.51.100.9", 1) == [429]  # a made-up address does not escape


@pytest.mark.parametrize(
    ("peer", "header", "trusted", "client"),
    [
        ("10.0.0.2", ["203.0.113.5"], ["10.0.0.0/8"], "203.0.113.5"),
        ("10.0.0.2", ["6.6.6.6, 203.0.113.5, 10.0.0.7"], ["10.0.0.0/8"], "203.0.113.5"),  # left of it: the client's own claim
        ("10.0.0.2", ["6.6.6.6", "203.0.113.5"], ["10.0.0.0/8"], "203.0.113.5"),  # repeated headers join
        ("192.0.2.1", ["203.0.113.5"], ["10.0.0.0/8"], "192.0.2.1"),  # not from a trusted proxy
        ("10.0.0.2", ["203.0.113.5"], [], "10.0.0.2"),
        ("10.0.0.2", ["not-an-address"], ["10.0.0.0/8"], "10.0.0.2"),
        ("10.0.0.2", ["10.0.0.9"], ["10.0.0.0/8"], "10.0.0.9"),  # every hop trusted: the first
        ("::1", ["2001:db8::5"], ["::1"], "2001:db8::5"),
        (None, ["203.0.113.5"], ["10.0.0.0/8"], "unknown"),
    ],
)
def test_forwarded_client(peer: str | None, header: list[str], trusted: list[str], client: str) -> None:
    assert forwarded_client(peer, header, trusted) == client


def test_a_bad_trusted_proxy_entry_is_refused_at_start_up() -> None:
    with pytest.raises(ValueError, match="trusted_proxies"):
        make_settings("sqlite://", trusted_proxies=["proxy.internal"])
