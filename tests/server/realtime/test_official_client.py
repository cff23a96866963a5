"""The official Socket.IO client (socket.io-client 4.8 under Node) against a running app, on each of
its transports: every event it sends is answered, and what the server refuses it refuses with an
error ack the client can read.

Each case runs on websocket, long-polling and the client's default (long-polling, then the upgrade).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer

from server.app import create_app
from tests.clients.official import TRANSPORTS, binary, emit, run_client
from tests.conftest import make_settings
from tests.helpers import add_room

pytestmark = [pytest.mark.timeout(90), pytest.mark.parametrize("transport", list(TRANSPORTS))]

PASSWORD = "tomato-2026"
ROOMS = [f"farm-{i:02d}" for i in range(20)]


async def start(aiohttp_server: Callable[..., Any], url: str) -> TestServer:
    server: TestServer = await aiohttp_server(create_app(make_settings(url)))
    for room in ROOMS:
        await add_room(server, room)  # type: ignore[arg-type]
    return server


async def signed_up(server: TestServer, aiohttp_client: Callable[..., Any], nickname: str) -> dict[str, str]:
    """A buyer's browser cookies (session + device), signed up over HTTP."""
    http: TestClient[Any, Any] = await aiohttp_client(server)
    identifier = f"{nickname}@example.com"
    resp = await http.post("/api/auth/register", json={"identifier": identifier, "password": PASSWORD, "nickname": nickname})
    assert resp.status == 202, await resp.text()  # the same answer whether or not the account existed
    resp = await http.post("/api/auth/login", json={"identifier": identifier, "password": PASSWORD})
    assert resp.status == 200, await resp.text()
    jar = http.session.cookie_jar.filter_cookies(http.make_url("/api/"))
    return {name: morsel.value for name, morsel in jar.items()}


def url(server: TestServer) -> str:
    return str(server.make_url("/"))


async def test_twenty_joins_in_one_tick_get_twenty_acks(
    transport: str, sqlite_url: str, aiohttp_server: Callable[..., Any]
) -> None:
    # On long-polling the client sends all twenty in one HTTP payload (bounded by maxPayload).
    server = await start(aiohttp_server, sqlite_url)
    run = await run_client(url(server), [[emit("join", {"room": room}) for room in ROOMS]], transport=transport)
    replies = run.replies(0)
    assert len(replies) == 20
    assert all(r["ok"] and r["presence"]["room"] == room for r, room in zip(replies, ROOMS, strict=True)), replies


async def test_chat_text_with_half_an_emoji_is_stored_without_the_half(
    transport: str, sqlite_url: str, aiohttp_server: Callable[..., Any], aiohttp_client: Callable[..., Any]
) -> None:
    # "好甜🍅".slice(0, -1) in JavaScript: a lone high surrogate, which JSON.stringify writes as
    # the escape \ud83c (valid JSON); a lone low one the same. Neither is a character.
    server = await start(aiohttp_server, sqlite_url)
    cookies = await signed_up(server, aiohttp_client, f"half-{transport}")
    room = ROOMS[0]
    run = await run_client(
        url(server),
        [
            [emit("chat:join", {"room": room})],
            [emit("chat:send", {"room": room, "text": "好甜\ud83c"}), emit("chat:send", {"room": room, "text": "\udf45番茄"})],
            [emit("qa:ask", {"room": room, "text": "什么时候发货\ud83c"})],
        ],
        transport=transport,
        cookies=cookies,
    )
    assert run.reply(0)["ok"]
    first, second = run.replies(1)
    assert first["ok"] and first["message"]["text"] == "好甜", first
    assert second["ok"] and second["message"]["text"] == "番茄", second
    asked = run.reply(2)
    assert asked["ok"] and asked["question"]["text"] == "什么时候发货", asked


async def test_an_extra_argument_or_an_unknown_event_gets_an_error_ack(
    transport: str, sqlite_url: str, aiohttp_server: Callable[..., Any], aiohttp_client: Callable[..., Any]
) -> None:
    server = await start(aiohttp_server, sqlite_url)
    cookies = await signed_up(server, aiohttp_client, f"extra-{transport}")
    room = ROOMS[0]
    run = await run_client(
        url(server),
        [
            [emit("chat:join", {"room": room})],
            [emit("chat:send", {"room": room, "text": "两个参数"}, {"extra": True}), emit("join", {"room": room}, "x", 3)],
            [emit("chat:history", {"room": room}), emit("chat:sned", {"room": room, "text": "typo"})],
        ],
        transport=transport,
        cookies=cookies,
    )
    assert run.reply(0)["ok"]
    for refused in run.replies(1):
        assert refused["error"] == "invalid_input" and "argument" in refused["message"], refused
    # Refused before anything was done: nothing was stored.
    history, unknown = run.replies(2)
    assert history["messages"] == []
    assert unknown["error"] == "unknown_event" and "chat:sned" in unknown["message"], unknown


async def test_binary_where_text_is_expected_is_refused(
    transport: str, sqlite_url: str, aiohttp_server: Callable[..., Any], aiohttp_client: Callable[..., Any]
) -> None:
    server = await start(aiohttp_server, sqlite_url)
    cookies = await signed_up(server, aiohttp_client, f"bin-{transport}")
    room = ROOMS[0]
    run = await run_client(
        url(server),
        [
            [emit("chat:join", {"room": room}), emit("qa:subscribe", {"room": room})],
            [
                emit("chat:send", {"room": room, "text": binary("二进制".encode())}),
                emit("qa:ask", {"room": room, "text": binary(b"binary question?")}),
            ],
            # After the refusals the connection still works, and nothing was stored.
            [emit("chat:history", {"room": room}), emit("qa:list", {"room": room})],
            [emit("chat:send", {"room": room, "text": "文字"})],
        ],
        transport=transport,
        cookies=cookies,
    )
    assert all(r["ok"] for r in run.replies(0))
    for refused in run.replies(1):
        assert refused["error"] == "invalid_input" and "binary" in refused["message"], refused
    history, questions = run.replies(2)
    assert history["messages"] == [] and questions["questions"] == []
    assert run.reply(3)["message"]["text"] == "文字"


async def test_an_unknown_namespace_is_refused_with_a_message_the_client_reads(
    transport: str, sqlite_url: str, aiohttp_server: Callable[..., Any]
) -> None:
    server = await start(aiohttp_server, sqlite_url)
    run = await run_client(url(server), [], transport=transport, namespace="/nowhere")
    refused = run.first("connect_error")
    assert "/nowhere" in refused["message"], refused
