"""Two server nodes on one database and one Redis: chat crosses nodes, and limits and bans hold on both.

Nothing a node decides with is kept in a handler: messages fan out through the Redis client manager,
rate limits and slow mode live in Redis, bans in the database (each node's copy expires after
chat_state_ttl_s).
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Callable
from typing import Any

import pytest
from aiohttp.test_utils import TestServer
from redis.asyncio import Redis

from server.app import create_app
from server.domain.accounts.roles import Role
from server.http.chat_keys import CHAT
from server.persistence.voice_throttle import RedisThrottle
from tests.conftest import make_settings
from tests.helpers import add_room

from .chat_peers import Peer, new_peer

pytestmark = pytest.mark.timeout(90)
REDIS_URL = "redis://127.0.0.1:6379/0"


@pytest.fixture
async def redis_up() -> None:
    client = Redis.from_url(REDIS_URL)
    try:
        await client.ping()
    except OSError:
        pytest.fail("Redis is not running on 127.0.0.1:6379 (.ci/run starts it)")
    finally:
        await client.aclose()


async def test_chat_bans_and_limits_hold_across_two_nodes(
    redis_up: None, database_url: str, aiohttp_server: Callable[..., Any], aiohttp_client: Callable[..., Any]
) -> None:
    # Other test runs may share this Redis: a room and throttle keys of our own.
    room = f"farm-{secrets.token_hex(4)}"
    prefix = f"test:{secrets.token_hex(4)}:"
    nodes: list[TestServer] = []
    for _ in range(2):
        node: TestServer = await aiohttp_server(create_app(make_settings(
            database_url, redis_url=REDIS_URL, chat_state_ttl_s=0.5,
        )))
        throttle = node.app[CHAT].throttle
        assert isinstance(throttle, RedisThrottle)
        throttle.prefix = prefix
        nodes.append(node)
    await add_room(nodes[0], room)  # type: ignore[arg-type]
    a, b = nodes
    peers: list[Peer] = []
    try:
        mod = await new_peer(a, aiohttp_client, Role.MODERATOR, rooms=(room,))
        viewer_a = await new_peer(a, aiohttp_client, nickname="在A")
        # The same account, signed in on node B too (same cookies, another connection).
        viewer_b = Peer(await aiohttp_client(b), viewer_a.user)
        viewer_b.http.session.cookie_jar.update_cookies(viewer_a.cookies())
        await viewer_b.connect()
        watcher_b = await new_peer(b, aiohttp_client, None)
        peers += [mod, viewer_a, viewer_b, watcher_b]
        for p in peers:
            await p.join(room)

        said = await viewer_a.say("从A节点发的", room=room)
        assert said["ok"]
        got = await watcher_b.wait_message(said["message"]["id"])
        assert got["text"] == "从A节点发的", "a message reaches viewers on the other node"

        # One bucket for the account, whichever node it talks to: 5 at once in all.
        replies = [await (viewer_a if i % 2 else viewer_b).say(f"第{i}条", room=room) for i in range(5)]
        assert [r.get("ok") for r in replies[:4]] == [True] * 4
        assert replies[4]["error"] == "rate_limited"

        # A ban given on node A holds on node B once B's copy of the room's state has expired.
        assert (await mod.call("chat:ban", {"room": room, "user_id": viewer_a.user_id}))["ok"]
        await watcher_b.wait_for(lambda: watcher_b.events["chat:sanctioned"])
        await asyncio.sleep(0.6)
        refused = await viewer_b.say("换个节点", room=room)
        assert refused["error"] in ("banned", "rate_limited")
        await asyncio.sleep(2.1)  # the bucket refills; the ban does not lapse
        assert (await viewer_b.say("换个节点", room=room))["error"] == "banned"
    finally:
        for p in peers:
            await p.disconnect()
