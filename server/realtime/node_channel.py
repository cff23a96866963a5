"""A Redis pub/sub channel between the nodes of one deployment, for the overlays of live rooms.

A room's pipeline runs on whichever node opened it, so a change made through another node (a pin,
an approved review) must reach it: the node that makes the change applies it to its own rooms and
publishes it; every other node applies what it receives. Messages are JSON objects; a node skips
its own. Without Redis (one node) nothing is published and nothing is received.
"""

from __future__ import annotations

import asyncio
import json
import logging
import secrets
from collections.abc import Callable
from typing import Any

logger = logging.getLogger(__name__)

Receiver = Callable[[dict[str, Any]], None]


class NodeChannel:
    def __init__(self, redis_url: str | None, channel: str, receive: Receiver) -> None:
        self.redis_url = redis_url
        self.channel = channel
        self.receive = receive
        self.node = secrets.token_hex(6)
        self._redis: Any = None
        self._listener: asyncio.Task[None] | None = None

    async def start(self) -> None:
        if not self.redis_url:
            return
        import redis.asyncio as aioredis

        self._redis = aioredis.from_url(self.redis_url)
        pubsub = self._redis.pubsub(ignore_subscribe_messages=True)
        await pubsub.subscribe(self.channel)
        self._listener = asyncio.ensure_future(self._listen(pubsub))

    async def publish(self, body: dict[str, Any]) -> None:
        """Tell the other nodes. A failure is logged, not raised: this node's rooms are already
        right, and the others catch up when their room reopens."""
        if self._redis is None:
            return
        try:
            await self._redis.publish(self.channel, json.dumps({**body, "node": self.node}, ensure_ascii=False))
        except Exception:
            logger.exception("could not tell the other nodes", extra={"channel": self.channel})

    async def _listen(self, pubsub: Any) -> None:
        try:
            async for message in pubsub.listen():
                try:
                    body = json.loads(message.get("data"))
                    if not isinstance(body, dict):
                        raise TypeError("not an object")
                    if body.get("node") != self.node:
                        self.receive(body)
                except (ValueError, TypeError, KeyError):
                    logger.warning("ignored a malformed message", extra={"channel": self.channel})
        finally:
            await pubsub.aclose()

    async def close(self) -> None:
        if self._listener is not None:
            self._listener.cancel()
            await asyncio.gather(self._listener, return_exceptions=True)
        if self._redis is not None:
            await self._redis.aclose()
