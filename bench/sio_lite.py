"""A lean Socket.IO client for crowds: thousands of separate Socket.IO connections (each its own
websocket, Engine.IO session and Socket.IO namespace connection) from one process, without a
full python-socketio client object per connection.

Speaks Engine.IO 4 / Socket.IO 5 over the websocket transport: open packet, namespace connect,
events with acknowledgements, pings answered. Enough to act as a viewer: join, listen, call.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
from collections.abc import Callable
from typing import Any

import aiohttp
import orjson


class LiteClient:
    def __init__(self, http: aiohttp.ClientSession, base: str, cookie: str = "") -> None:
        self.http = http
        self.url = base.rstrip("/").replace("http", "ws", 1) + "/socket.io/?EIO=4&transport=websocket"
        self.cookie = cookie
        self.ws: aiohttp.ClientWebSocketResponse | None = None
        self._ids = itertools.count()
        self._acks: dict[int, asyncio.Future[Any]] = {}
        self._reader: asyncio.Task[None] | None = None
        self._connected: asyncio.Future[None] | None = None
        # event name -> callback(data, arrival time from loop.time())
        self.handlers: dict[str, Callable[[Any, float], None]] = {}
        # event name -> callback(the packet's JSON text, arrival time), for a listener that can
        # do without decoding every event (the crowd in a load test)
        self.raw_handlers: dict[str, Callable[[str, float], None]] = {}

    async def connect(self, timeout: float = 90) -> None:
        headers = {"Cookie": self.cookie} if self.cookie else {}
        self.ws = await self.http.ws_connect(self.url, headers=headers, timeout=aiohttp.ClientWSTimeout(ws_close=5), max_msg_size=0)
        loop = asyncio.get_running_loop()
        self._connected = loop.create_future()
        self._reader = asyncio.ensure_future(self._read())
        await asyncio.wait_for(asyncio.shield(self._connected), timeout)

    async def _read(self) -> None:
        assert self.ws is not None
        loop = asyncio.get_running_loop()
        async for msg in self.ws:
            if msg.type != aiohttp.WSMsgType.TEXT:
                continue
            data: str = msg.data
            kind = data[:1]
            if kind == "0":  # Engine.IO open: connect to the default namespace
                await self.ws.send_str("40")
            elif kind == "2":  # ping
                await self.ws.send_str("3")
            elif kind == "4":
                self._socketio(data[1:], loop.time())
        for fut in self._acks.values():
            if not fut.done():
                fut.set_exception(ConnectionError("disconnected"))
        if self._connected is not None and not self._connected.done():
            self._connected.set_exception(ConnectionError("refused"))

    def _socketio(self, packet: str, at: float) -> None:
        kind, body = packet[:1], packet[1:]
        if kind == "0":
            if self._connected is not None and not self._connected.done():
                self._connected.set_result(None)
        elif kind == "4":
            if self._connected is not None and not self._connected.done():
                self._connected.set_exception(ConnectionError(body))
        elif kind == "3":
            digits = ""
            while body and body[0].isdigit():
                digits, body = digits + body[0], body[1:]
            fut = self._acks.pop(int(digits), None)
            if fut is not None and not fut.done():
                args = orjson.loads(body)
                fut.set_result(args[0] if args else None)
        elif kind == "2":
            while body and body[0].isdigit():
                body = body[1:]
            if self.raw_handlers and body.startswith('["'):
                raw = self.raw_handlers.get(body[2 : body.index('"', 2)])
                if raw is not None:
                    raw(body, at)
                    return
            name, *args = orjson.loads(body)
            handler = self.handlers.get(name)
            if handler is not None:
                handler(args[0] if args else None, at)

    async def call(self, event: str, data: Any, timeout: float = 60) -> Any:
        assert self.ws is not None
        ack = next(self._ids)
        fut: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._acks[ack] = fut
        await self.ws.send_str(f"42{ack}" + orjson.dumps([event, data]).decode())
        return await asyncio.wait_for(fut, timeout)

    async def close(self) -> None:
        if self.ws is not None:
            with contextlib.suppress(Exception):
                await self.ws.close()
        if self._reader is not None:
            with contextlib.suppress(BaseException):
                await self._reader


async def connect_crowd(http: aiohttp.ClientSession, base: str, cookies: list[str], batch: int = 100) -> list[LiteClient]:
    clients: list[LiteClient] = []
    for i in range(0, len(cookies), batch):
        group = [LiteClient(http, base, c) for c in cookies[i : i + batch]]
        await asyncio.gather(*(c.connect() for c in group))
        clients += group
    return clients
