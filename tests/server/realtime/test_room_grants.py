"""Room-scoped grants and live identity over Socket.IO, against a running app with real clients.

A moderator of one room is a viewer in every other; an operator is an operator everywhere; a
socket follows its caller: signing out, a role change, a lost grant or a revoked token close it,
and a grant given while it is open works at once. The tests taking `database_url` run on SQLite
and on the real PostgreSQL; the two-node one uses the real Redis.
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Callable
from typing import Any

import pytest
import socketio
from aiohttp.test_utils import TestServer
from redis.asyncio import Redis

from server import cli
from server.app import create_app
from server.cli_grants import grant_command, token_command, user_command
from server.domain.accounts.roles import Role
from server.http.keys import ACCOUNTS
from tests.conftest import make_settings
from tests.helpers import add_room, operator_token, role_token

from .chat_peers import PASSWORD, Peer, new_peer

pytestmark = pytest.mark.timeout(120)
REDIS_URL = "redis://127.0.0.1:6379/0"


async def start(aiohttp_server: Callable[..., Any], url: str, **settings: Any) -> TestServer:
    server: TestServer = await aiohttp_server(create_app(make_settings(url, **settings)))
    await add_room(server, "farm")  # type: ignore[arg-type]
    await add_room(server, "orchard")  # type: ignore[arg-type]
    return server


async def disconnected(peer: Peer, timeout: float = 10) -> None:
    await asyncio.wait_for(peer.disconnected.wait(), timeout)


async def refused_or_closed(peer: Peer, event: str, data: dict[str, Any]) -> None:
    """The event must not run: either the server refuses it, or the connection is already closed."""
    try:
        reply = await peer.call(event, data, timeout=5)
    except (socketio.exceptions.BadNamespaceError, socketio.exceptions.DisconnectedError, socketio.exceptions.TimeoutError):
        return
    assert reply.get("error") in ("unauthorized", "forbidden"), (event, reply)


async def slow_mode(peer: Peer, room: str) -> int:
    reply = await peer.call("chat:settings", {"room": room})
    assert reply.get("ok"), reply
    return int(reply["slow_mode_s"])


async def test_a_moderator_of_one_room_is_refused_in_another_for_chat_and_questions_and_operators_stay_global(
    database_url: str, aiohttp_server: Callable[..., Any], aiohttp_client: Callable[..., Any], peers: list[Peer]
) -> None:
    server = await start(aiohttp_server, database_url)
    mod = await new_peer(server, aiohttp_client, Role.MODERATOR, nickname="场控", rooms=("farm",))
    host = await new_peer(server, aiohttp_client, Role.HOST, nickname="农场主", rooms=("farm",))
    operator = await new_peer(server, aiohttp_client, Role.OPERATOR, nickname="运营")
    viewer = await new_peer(server, aiohttp_client, nickname="邻居")
    peers += [mod, host, operator, viewer]

    # Chat: every moderation event works in the granted room, none in the other.
    assert (await mod.join("farm"))["me"]["can_moderate"] is True
    orchard = await mod.join("orchard")
    assert orchard["me"]["can_moderate"] is False and orchard["me"]["role"] == "viewer"
    for staff in (mod, host):
        assert (await staff.call("chat:slow_mode", {"room": "farm", "seconds": 5}))["ok"]
        for event, data in [
            ("chat:slow_mode", {"room": "orchard", "seconds": 600}),
            ("chat:filter", {"room": "orchard", "words": ["番茄"]}),
            ("chat:modlog", {"room": "orchard"}),
            ("chat:settings", {"room": "orchard"}),
            ("chat:sanctions", {"room": "orchard"}),
            ("chat:timeout", {"room": "orchard", "user_id": viewer.user_id, "minutes": 7 * 24 * 60}),
            ("chat:ban", {"room": "orchard", "user_id": viewer.user_id}),
        ]:
            assert (await staff.call(event, data))["error"] == "forbidden", (event, staff.user)
    assert await slow_mode(operator, "orchard") == 0  # nothing of the above happened
    # A moderator of farm is a viewer in orchard: they can be timed out there, not in farm.
    await mod.say("果园的苹果甜吗", "orchard")
    timed = await operator.call("chat:timeout", {"room": "orchard", "user_id": mod.user_id, "minutes": 1})
    assert timed["ok"], timed
    assert (await operator.call("chat:timeout", {"room": "farm", "user_id": mod.user_id, "minutes": 1}))["error"] == "forbidden"
    # Operators moderate every room.
    assert (await operator.call("chat:slow_mode", {"room": "orchard", "seconds": 3}))["ok"]
    assert (await operator.call("chat:modlog", {"room": "farm"}))["ok"]

    # Q&A: a question asked in orchard is out of reach of farm's moderator and host.
    assert (await viewer.call("qa:subscribe", {"room": "orchard"}))["ok"]
    asked = await viewer.call("qa:ask", {"room": "orchard", "text": "苹果是今年的新果吗？"})
    question = asked["question"]["id"]
    assert (await mod.call("qa:subscribe", {"room": "orchard"}))["moderator"] is False
    assert (await mod.call("qa:subscribe", {"room": "farm"}))["moderator"] is True
    for staff in (mod, host):
        for event, data in [
            ("qa:answer", {"question_id": question, "text": "是的", "pin": True}),
            ("qa:hide", {"question_id": question}),
            ("qa:pin", {"question_id": question}),
            ("qa:suggest", {"question_id": question}),
            ("qa:unpin", {"room": "orchard"}),
        ]:
            assert (await staff.call(event, data))["error"] == "forbidden", (event, staff.user)
    listed = await mod.call("qa:list", {"room": "orchard", "status": "hidden"})
    assert listed["error"] == "forbidden"  # hidden questions are for orchard's moderators only
    answered = await operator.call("qa:answer", {"question_id": question, "text": "今年九月新摘"})
    assert answered["ok"] and answered["question"]["answer"] == "今年九月新摘"

    # Commerce: pinning a product is for the room's host.
    assert (await host.call("product.pin", {"room": "orchard", "product_id": 1}))["error"] == "forbidden"
    assert (await mod.call("product.pin", {"room": "farm", "product_id": 1}))["error"] == "forbidden"


async def test_a_moderator_signed_out_over_http_loses_the_open_socket(
    database_url: str, aiohttp_server: Callable[..., Any], aiohttp_client: Callable[..., Any], peers: list[Peer]
) -> None:
    server = await start(aiohttp_server, database_url)
    mod = await new_peer(server, aiohttp_client, Role.MODERATOR)
    operator = await new_peer(server, aiohttp_client, Role.OPERATOR)
    peers += [mod, operator]
    # The same account on a second device: signing out of one session leaves the other alone.
    phone = Peer(await aiohttp_client(server), None)
    assert mod.user is not None
    login = await phone.http.post("/api/auth/login", json={"identifier": mod.user["identifier"], "password": PASSWORD})
    assert login.status == 200
    await phone.connect()
    peers.append(phone)
    await mod.join()
    assert (await mod.call("chat:modlog", {"room": "farm"}))["ok"]

    await mod.sign_out()
    assert (await (await mod.http.get("/api/me")).json())["role"] == "viewer"
    await disconnected(mod)
    await refused_or_closed(mod, "chat:slow_mode", {"room": "farm", "seconds": 600})
    await refused_or_closed(mod, "chat:modlog", {"room": "farm"})
    assert await slow_mode(operator, "farm") == 0
    # The other session is still signed in, and its socket still moderates.
    assert not phone.disconnected.is_set()
    assert (await phone.call("chat:slow_mode", {"room": "farm", "seconds": 2}))["ok"]
    # Reconnecting with the revoked cookie gives a viewer's socket.
    await mod.connect()
    assert (await mod.call("chat:modlog", {"room": "farm"}))["error"] == "forbidden"


async def test_a_host_appoints_a_moderator_who_moderates_at_once_and_loses_it_with_the_grant(
    database_url: str, aiohttp_server: Callable[..., Any], aiohttp_client: Callable[..., Any], peers: list[Peer]
) -> None:
    server = await start(aiohttp_server, database_url)
    host = await new_peer(server, aiohttp_client, Role.HOST, rooms=("farm",))
    helper = await new_peer(server, aiohttp_client, nickname="小帮手")
    peers += [host, helper]
    assert (await helper.call("chat:slow_mode", {"room": "farm", "seconds": 4}))["error"] == "forbidden"

    me = await (await host.http.get("/api/me")).json()
    assert me["rooms"] == {"farm": "host"}
    headers = {"X-CSRF-Token": me["csrf"]}
    assert helper.user is not None
    made = await host.http.post("/api/rooms/farm/grants", json={"user_id": helper.user_id, "role": "moderator"}, headers=headers)
    assert made.status == 201, await made.text()
    # The open socket, connected as a viewer, moderates farm now (and only farm).
    assert (await helper.call("chat:slow_mode", {"room": "farm", "seconds": 4}))["ok"]
    assert (await helper.call("chat:slow_mode", {"room": "orchard", "seconds": 4}))["error"] == "forbidden"
    assert not helper.disconnected.is_set()

    removed = await host.http.delete(f"/api/rooms/farm/grants/users/{helper.user_id}", headers=headers)
    assert removed.status == 200, await removed.text()
    await disconnected(helper)
    await helper.connect()
    assert (await helper.call("chat:slow_mode", {"room": "farm", "seconds": 9}))["error"] == "forbidden"


async def test_a_role_change_and_a_revoked_token_reach_open_sockets(
    database_url: str, aiohttp_server: Callable[..., Any], aiohttp_client: Callable[..., Any], peers: list[Peer]
) -> None:
    server = await start(aiohttp_server, database_url)
    boss = await new_peer(server, aiohttp_client, Role.OPERATOR)
    peers.append(boss)
    await boss.join()
    assert (await boss.call("chat:slow_mode", {"room": "orchard", "seconds": 1}))["ok"]
    # An operator demoted to viewer (an operator accepting nothing: set through the service, as
    # `fieldcast user role` does) loses the socket.
    accounts = server.app[ACCOUNTS]
    user = await accounts.users.get(boss.user_id)
    assert user is not None
    await accounts.set_role(user, Role.VIEWER)
    await disconnected(boss)
    await refused_or_closed(boss, "chat:slow_mode", {"room": "orchard", "seconds": 600})
    await boss.connect()
    assert (await boss.call("chat:slow_mode", {"room": "orchard", "seconds": 600}))["error"] == "forbidden"

    # An API token holding farm's moderator grant, used as the Socket.IO credential.
    token = await role_token(server.app, Role.MODERATOR, ("farm",))
    bot = Peer(await aiohttp_client(server), None)
    peers.append(bot)
    bot.sio = socketio.AsyncClient(reconnection=False)
    bot.sio.on("disconnect", bot._on_disconnect)
    await bot.sio.connect(str(bot.http.make_url("/")), auth={"token": token}, transports=["websocket"])
    assert (await bot.call("chat:modlog", {"room": "farm"}))["ok"]
    assert (await bot.call("chat:modlog", {"room": "orchard"}))["error"] == "forbidden"
    operator = await operator_token(server)  # type: ignore[arg-type]
    listed = await bot.http.get("/api/rooms/farm/grants", headers={"Authorization": f"Bearer {operator}"})
    token_id = next(g["subject"]["id"] for g in (await listed.json())["grants"] if g["subject"]["kind"] == "token")
    revoked = await bot.http.delete(f"/api/tokens/{token_id}", headers={"Authorization": f"Bearer {operator}"})
    assert revoked.status == 204
    await disconnected(bot)
    await refused_or_closed(bot, "chat:modlog", {"room": "farm"})


async def test_grants_made_with_the_cli_reach_an_open_socket_without_redis(
    sqlite_url: str, aiohttp_server: Callable[..., Any], aiohttp_client: Callable[..., Any], peers: list[Peer],
    capsys: pytest.CaptureFixture[str],
) -> None:
    # The CLI is another process: on one node without Redis, the server re-reads its sockets'
    # callers before privileged events once identity_recheck_s has passed (0 here: every time).
    settings = make_settings(sqlite_url, identity_recheck_s=0)
    server = await start(aiohttp_server, sqlite_url, identity_recheck_s=0)
    viewer = await new_peer(server, aiohttp_client)
    peers.append(viewer)
    assert viewer.user is not None
    ident = viewer.user["identifier"]
    parse = cli.build_parser().parse_args

    assert await grant_command(settings, parse(["grant", "add", "farm", ident, "--role", "moderator"])) == 0
    assert (await viewer.call("chat:slow_mode", {"room": "farm", "seconds": 5}))["ok"]
    assert await grant_command(settings, parse(["grant", "remove", "farm", ident])) == 0
    assert (await viewer.call("chat:slow_mode", {"room": "farm", "seconds": 600}))["error"] == "forbidden"

    # `fieldcast user create --role moderator --room orchard` grants that room and nothing else.
    args = parse(["user", "create", "mod@example.com", "--role", "moderator", "--room", "orchard", "--password", PASSWORD])
    assert await user_command(settings, args) == 0
    mod = Peer(await aiohttp_client(server), None)
    assert (await mod.http.post("/api/auth/login", json={"identifier": "mod@example.com", "password": PASSWORD})).status == 200
    await mod.connect()
    peers.append(mod)
    assert (await mod.call("chat:modlog", {"room": "orchard"}))["ok"]
    assert (await mod.call("chat:modlog", {"room": "farm"}))["error"] == "forbidden"
    assert await user_command(settings, parse(["user", "role", "mod@example.com", "viewer"])) == 0
    # The account role no longer matters for rooms: the grant still says moderator of orchard.
    assert (await mod.call("chat:modlog", {"room": "orchard"}))["ok"]
    assert await grant_command(settings, parse(["grant", "remove", "orchard", "mod@example.com"])) == 0
    assert (await mod.call("chat:modlog", {"room": "orchard"}))["error"] == "forbidden"

    # A token made for one room, used by an open socket, then revoked: refused on that socket.
    capsys.readouterr()
    assert await token_command(settings, parse(["token", "--role", "moderator", "--room", "farm", "--label", "bot"])) == 0
    printed = capsys.readouterr().out.splitlines()
    token_id, secret = int(printed[0].split("#")[1].split()[0]), printed[1]
    bot = Peer(await aiohttp_client(server), None)
    peers.append(bot)
    bot.sio = socketio.AsyncClient(reconnection=False)
    bot.sio.on("disconnect", bot._on_disconnect)
    await bot.sio.connect(str(bot.http.make_url("/")), auth={"token": secret}, transports=["websocket"])
    assert (await bot.call("chat:modlog", {"room": "farm"}))["ok"]
    assert (await bot.call("chat:modlog", {"room": "orchard"}))["error"] == "forbidden"
    assert await token_command(settings, parse(["token", "revoke", str(token_id)])) == 0
    assert (await bot.call("chat:modlog", {"room": "farm"}))["error"] == "unauthorized"
    await disconnected(bot)


async def test_a_sign_out_and_a_grant_on_one_node_reach_a_socket_on_the_other(
    database_url: str, aiohttp_server: Callable[..., Any], aiohttp_client: Callable[..., Any], peers: list[Peer]
) -> None:
    redis = Redis.from_url(REDIS_URL)
    try:
        await redis.ping()
    except OSError:
        pytest.fail("Redis is not running on 127.0.0.1:6379 (.ci/run starts it)")
    finally:
        await redis.aclose()
    room = f"farm-{secrets.token_hex(4)}"
    # A long recheck: only the shared version can tell node B that something changed.
    a, b = [
        await aiohttp_server(create_app(make_settings(database_url, redis_url=REDIS_URL, identity_recheck_s=3600)))
        for _ in range(2)
    ]
    await add_room(a, room)  # type: ignore[arg-type]
    operator = await operator_token(a)  # type: ignore[arg-type]
    helper = await new_peer(a, aiohttp_client)
    assert helper.user is not None
    on_b = Peer(await aiohttp_client(b), helper.user)
    on_b.http.session.cookie_jar.update_cookies(helper.cookies())
    await on_b.connect()
    peers += [helper, on_b]
    assert (await on_b.call("chat:slow_mode", {"room": room, "seconds": 3}))["error"] == "forbidden"

    auth = {"Authorization": f"Bearer {operator}"}
    ops = await aiohttp_client(a)  # the operator's own client (no session cookie beside the token)
    made = await ops.post(f"/api/rooms/{room}/grants", json={"user_id": helper.user_id, "role": "moderator"}, headers=auth)
    assert made.status == 201, await made.text()
    assert (await on_b.call("chat:slow_mode", {"room": room, "seconds": 3}))["ok"]  # node B saw node A's grant

    await helper.sign_out()  # over HTTP on node A; the socket on node B holds the same session
    await refused_or_closed(on_b, "chat:slow_mode", {"room": room, "seconds": 600})
    await disconnected(on_b)
    assert not (await (await helper.http.get("/api/me")).json())["user"]
