"""Chat test peers: a browser-like HTTP client (own cookie jar) with a real Socket.IO client beside it.

Each peer signs up (or signs in) over HTTP, so it holds a session cookie and a signed device cookie,
then connects Socket.IO with both, from 127.0.0.1 or any other loopback address (a different IP).
"""

from __future__ import annotations

import asyncio
import itertools
from collections import defaultdict
from collections.abc import Callable
from typing import Any

import aiohttp
import socketio
from aiohttp.test_utils import TestClient, TestServer

from server.domain.accounts.roles import Role
from tests.helpers import staff_account

PASSWORD = "tomato-2026"
SERVER_EVENTS = ("chat:messages", "chat:removed", "chat:mode", "chat:sanctioned", "chat:lifted")
_numbers = itertools.count(1)


class Peer:
    def __init__(self, http: TestClient[Any, Any], user: dict[str, Any] | None) -> None:
        self.http = http
        self.user = user
        self.sio: socketio.AsyncClient | None = None
        self.session: aiohttp.ClientSession | None = None
        self.events: dict[str, list[dict[str, Any]]] = defaultdict(list)
        self._changed = asyncio.Event()
        self.disconnected = asyncio.Event()  # the server closed (or we closed) the connection

    @property
    def user_id(self) -> int:
        assert self.user is not None
        return int(self.user["id"])

    def cookies(self) -> dict[str, str]:
        jar = self.http.session.cookie_jar.filter_cookies(self.http.make_url("/api/"))
        return {name: morsel.value for name, morsel in jar.items()}

    async def connect(self, ip: str = "127.0.0.1") -> Peer:
        await self.disconnect()
        # A session bound to a chosen loopback address: the server sees a different client IP.
        self.session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(local_addr=(ip, 0)))
        self.sio = socketio.AsyncClient(http_session=self.session, reconnection=False)
        for name in SERVER_EVENTS:
            self.sio.on(name, self._recorder(name))
        self.disconnected = asyncio.Event()
        self.sio.on("disconnect", self._on_disconnect)
        cookie = "; ".join(f"{k}={v}" for k, v in self.cookies().items())
        await self.sio.connect(str(self.http.make_url("/")), headers={"Cookie": cookie}, transports=["websocket"])
        return self

    def _recorder(self, name: str) -> Callable[[dict[str, Any]], None]:
        def record(data: dict[str, Any]) -> None:
            self.events[name].append(data)
            self._changed.set()

        return record

    def _on_disconnect(self, *_reason: Any) -> None:
        self.disconnected.set()

    async def disconnect(self) -> None:
        if self.sio is not None:
            await self.sio.disconnect()
            self.sio = None
        if self.session is not None:
            await self.session.close()
            self.session = None

    async def call(self, event: str, data: dict[str, Any], timeout: float = 15) -> dict[str, Any]:
        assert self.sio is not None
        reply: dict[str, Any] = await self.sio.call(event, data, timeout=timeout)
        return reply

    async def join(self, room: str = "farm") -> dict[str, Any]:
        reply = await self.call("chat:join", {"room": room})
        assert reply.get("ok"), reply
        return reply

    async def say(self, text: str, room: str = "farm") -> dict[str, Any]:
        return await self.call("chat:send", {"room": room, "text": text})

    def messages(self) -> list[dict[str, Any]]:
        return [m for batch in self.events["chat:messages"] for m in batch["messages"]]

    def removed(self) -> set[int]:
        return {i for e in self.events["chat:removed"] for i in e["ids"]}

    async def wait_for(self, check: Callable[[], Any], timeout: float = 10) -> Any:
        """Waits until check() returns something truthy (re-checked as events arrive)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            found = check()
            if found:
                return found
            left = deadline - loop.time()
            if left <= 0:
                raise AssertionError(f"timed out waiting; events so far: {dict(self.events)}")
            self._changed.clear()
            try:
                await asyncio.wait_for(self._changed.wait(), min(left, 0.1))
            except TimeoutError:
                pass

    async def wait_message(self, message_id: int, timeout: float = 10) -> dict[str, Any]:
        found: dict[str, Any] = await self.wait_for(
            lambda: next((m for m in self.messages() if m["id"] == message_id), None), timeout
        )
        return found

    async def sign_out(self) -> None:
        me = await (await self.http.get("/api/me")).json()
        await self.http.post("/api/auth/logout", headers={"X-CSRF-Token": me["csrf"] or ""})
        self.user = None


async def new_peer(
    server: TestServer,
    aiohttp_client: Callable[..., Any],
    role: Role | None = Role.VIEWER,
    *,
    nickname: str = "",
    ip: str = "127.0.0.1",
    http: TestClient[Any, Any] | None = None,
    rooms: tuple[str, ...] = ("farm",),
) -> Peer:
    """A browser with its own cookies; signed up with `role` (None: an anonymous viewer), connected.
    A host or moderator holds that role in `rooms` (grants are per room)."""
    http = http or await aiohttp_client(server)
    n = next(_numbers)
    identifier = f"peer{n}@example.com"
    nickname = nickname or f"邻居{n}"
    user = None
    if role is Role.VIEWER:
        resp = await http.post("/api/auth/register", json={"identifier": identifier, "password": PASSWORD, "nickname": nickname})
        assert resp.status == 202, await resp.text()
        resp = await http.post("/api/auth/login", json={"identifier": identifier, "password": PASSWORD})
        assert resp.status == 200, await resp.text()
        user = (await resp.json())["user"]
    elif role is not None:
        await staff_account(server.app, identifier, PASSWORD, nickname, role, rooms)
        resp = await http.post("/api/auth/login", json={"identifier": identifier, "password": PASSWORD})
        assert resp.status == 200, await resp.text()
        user = (await resp.json())["user"]
    else:
        await http.get("/api/me")  # an anonymous browser still gets its device cookie
    peer = Peer(http, user)
    return await peer.connect(ip)
