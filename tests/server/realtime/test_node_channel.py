"""The nodes' channel on the real Redis: another node hears a change, the sender does not hear
itself, garbage on the channel is skipped, and without Redis nothing happens."""

from __future__ import annotations

import asyncio
import secrets
from typing import Any

import pytest
import redis.asyncio as aioredis

from server.realtime.node_channel import NodeChannel

pytestmark = pytest.mark.timeout(30)

REDIS_URL = "redis://127.0.0.1:6379/0"


async def test_other_nodes_hear_a_change_and_the_sender_does_not_hear_itself() -> None:
    channel = f"fieldcast:test:{secrets.token_hex(4)}"  # Redis is shared with other tests
    heard: dict[str, list[dict[str, Any]]] = {"a": [], "b": []}
    a = NodeChannel(REDIS_URL, channel, heard["a"].append)
    b = NodeChannel(REDIS_URL, channel, heard["b"].append)
    await a.start()
    await b.start()
    raw = aioredis.from_url(REDIS_URL)
    try:
        await a.publish({"room": "farm", "text": "番茄 🍅"})
        await raw.publish(channel, b"not json")
        await raw.publish(channel, b"[1, 2]")
        await a.publish({"room": "orchard"})
        for _ in range(200):
            if len(heard["b"]) == 2:
                break
            await asyncio.sleep(0.01)
        assert [m["room"] for m in heard["b"]] == ["farm", "orchard"]
        assert heard["b"][0]["text"] == "番茄 🍅" and heard["b"][0]["node"] == a.node
        assert heard["a"] == []
    finally:
        await raw.aclose()
        await a.close()
        await b.close()


async def test_without_redis_nothing_is_published_or_heard() -> None:
    heard: list[dict[str, Any]] = []
    alone = NodeChannel(None, "fieldcast:test:alone", heard.append)
    await alone.start()
    await alone.publish({"room": "farm"})
    await alone.close()
    assert heard == []
