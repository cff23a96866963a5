"""A live room with real people in it, for the moderator console's browser tests and screenshots.

Everything goes through the public API, as browsers would: accounts sign up over HTTP, chat and
questions go over Socket.IO with each account's session cookie, buyers order over REST, the order is
moved to "collected" by an operator, and the buyer posts a review with photos (multipart).
"""

from __future__ import annotations

import io
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import socketio
from aiohttp.test_utils import TestClient, TestServer
from PIL import Image, ImageDraw

from server.domain.accounts.roles import Role
from tests.commerce import Shop, key, make_shop, pickup
from tests.helpers import staff_account

PASSWORD = "tomato-2026"
HOSTILE = "<img src=x onerror=alert(1)>"
RTL = "\u202eشكرا جزيلا، الطماطم لذيذة"
LONG_WORD = "番茄" * 100  # 200 characters with no place to break: a chat message at its limit


@dataclass
class Person:
    identifier: str
    nickname: str
    http: TestClient[Any, Any]
    user: dict[str, Any]
    sio: socketio.AsyncClient | None = None
    events: dict[str, list[Any]] = field(default_factory=dict)

    @property
    def id(self) -> int:
        return int(self.user["id"])

    def cookie_header(self) -> str:
        jar = self.http.session.cookie_jar.filter_cookies(self.http.make_url("/api/"))
        return "; ".join(f"{k}={m.value}" for k, m in jar.items())

    async def connect(self) -> Person:
        self.sio = socketio.AsyncClient(reconnection=False)
        for name in ("chat:messages", "chat:removed", "qa:pinned", "qa:answered"):
            self.sio.on(name, self._record(name))
        await self.sio.connect(
            str(self.http.make_url("/")), headers={"Cookie": self.cookie_header()}, transports=["websocket"]
        )
        return self

    def _record(self, name: str) -> Callable[[Any], None]:
        def record(data: Any) -> None:
            self.events.setdefault(name, []).append(data)

        return record

    async def call(self, event: str, data: dict[str, Any]) -> dict[str, Any]:
        assert self.sio is not None
        reply: dict[str, Any] = await self.sio.call(event, data, timeout=10)
        return reply

    async def say(self, room: str, text: str) -> dict[str, Any]:
        reply = await self.call("chat:send", {"room": room, "text": text})
        assert reply.get("ok"), reply
        return dict(reply["message"])

    async def ask(self, room: str, text: str) -> dict[str, Any]:
        reply = await self.call("qa:ask", {"room": room, "text": text})
        assert reply.get("ok"), reply
        return dict(reply["question"])

    async def close(self) -> None:
        if self.sio is not None:
            await self.sio.disconnect()
            self.sio = None


async def person(
    server: TestServer, make_client: Callable[..., Any], nickname: str, role: Role = Role.VIEWER,
    rooms: tuple[str, ...] = ("farm",),
) -> Person:
    """An account with its own cookie jar: viewers sign up over HTTP; staff are made, then sign in."""
    http: TestClient[Any, Any] = await make_client(server)
    identifier = f"{secrets.token_hex(4)}@example.com"
    if role is Role.VIEWER:
        resp = await http.post("/api/auth/register", json={"identifier": identifier, "password": PASSWORD, "nickname": nickname})
        assert resp.status == 202, await resp.text()
        resp = await http.post("/api/auth/login", json={"identifier": identifier, "password": PASSWORD})
        assert resp.status == 200, await resp.text()
    else:
        await staff_account(server.app, identifier, PASSWORD, nickname, role, rooms)  # staff of these rooms
        resp = await http.post("/api/auth/login", json={"identifier": identifier, "password": PASSWORD})
        assert resp.status == 200, await resp.text()
    user = (await resp.json())["user"]
    return Person(identifier, nickname, http, user)


def photo(colours: tuple[tuple[int, int, int], tuple[int, int, int]], size: tuple[int, int] = (1200, 900)) -> bytes:
    """A JPEG that looks like something: a gradient field with a round 'tomato' in it."""
    img = Image.new("RGB", size, colours[0])
    draw = ImageDraw.Draw(img)
    w, h = size
    for y in range(0, h, 6):
        t = y / h
        c = tuple(int(colours[0][i] * (1 - t) + colours[1][i] * t) for i in range(3))
        draw.rectangle([0, y, w, y + 6], fill=c)
    r = min(w, h) // 4
    draw.ellipse([w // 2 - r, h // 2 - r, w // 2 + r, h // 2 + r], fill=(214, 48, 39))
    draw.ellipse([w // 2 - r // 4, h // 2 - r - r // 8, w // 2 + r // 4, h // 2 - r + r // 5], fill=(46, 125, 50))
    out = io.BytesIO()
    img.save(out, "JPEG", quality=85)
    return out.getvalue()


async def received_order(shop: Shop, buyer: Person) -> int:
    """The buyer orders (pay at pickup) and an operator moves the order along until it is collected."""
    me = await (await buyer.http.get("/api/me")).json()
    resp = await buyer.http.put("/api/me/community", json={"community_id": shop.community["id"]},
                                headers={"X-CSRF-Token": me["csrf"]})
    assert resp.status == 200, await resp.text()
    body = {"room_id": shop.room, "product_id": shop.product["id"], "quantity": 2, "delivery": pickup(shop),
            "idempotency_key": key()}
    resp = await buyer.http.post("/api/orders", json=body, headers={"X-CSRF-Token": me["csrf"]})
    assert resp.status == 201, await resp.text()
    order_id = int((await resp.json())["order"]["id"])
    for state in ("packed", "departed", "at_pickup", "collected"):
        await shop.call("POST", f"/api/orders/{order_id}/status", {"state": state}, status=200)
    return order_id


async def review(shop: Shop, buyer: Person, rating: int, text: str, photos: list[bytes]) -> dict[str, Any]:
    order_id = await received_order(shop, buyer)
    me = await (await buyer.http.get("/api/me")).json()
    form = aiohttp.FormData()
    form.add_field("order_id", str(order_id))
    form.add_field("rating", str(rating))
    form.add_field("text", text)
    for i, data in enumerate(photos):
        form.add_field("photos", data, filename=f"p{i}.jpg", content_type="image/jpeg")
    resp = await buyer.http.post("/api/reviews", data=form, headers={"X-CSRF-Token": me["csrf"]})
    assert resp.status == 201, await resp.text()
    return dict((await resp.json())["review"])


@dataclass
class World:
    server: TestServer
    shop: Shop
    room: str
    moderator: Person
    viewers: list[Person]
    messages: list[dict[str, Any]] = field(default_factory=list)
    questions: list[dict[str, Any]] = field(default_factory=list)
    reviews: list[dict[str, Any]] = field(default_factory=list)

    async def close(self) -> None:
        for p in [self.moderator, *self.viewers]:
            await p.close()


async def build_world(server: TestServer, make_client: Callable[..., Any], *, full: bool = True) -> World:
    """The farm room with a moderator and viewers; with `full`, a busy room: chat, questions with
    votes and an earlier answer to suggest, pending reviews with photos, and a moderation history."""
    shop = await make_shop(await make_client(server))
    room = shop.room
    moderator = await (await person(server, make_client, "审核员小林", Role.MODERATOR)).connect()
    names = ["阳光花园王阿姨", "番茄爱好者", HOSTILE[:24], "Lina 🍅", "老陈"]
    viewers = [await (await person(server, make_client, n)).connect() for n in (names if full else names[:2])]
    world = World(server, shop, room, moderator, viewers)
    for v in viewers:
        assert (await v.call("chat:join", {"room": room})).get("ok")
    if not full:
        return world

    a, b, c, d, e = viewers
    # An earlier question, answered: a new one that resembles it is offered this answer.
    old = await e.ask(room, "番茄什么时候发货？")
    await moderator.call("qa:answer", {"question_id": old["id"], "text": "今天下单，明天上午从农场发出，顺丰冷链，一般两天到。"})
    lines = [
        (a, "今天的番茄是早上刚摘的吗？看着好新鲜"),
        (b, "上次买的很甜，孩子特别爱吃 👍"),
        (c, HOSTILE),
        (d, RTL),
        (e, "加微信 tomato888 领优惠，便宜一半！！！"),
        (a, LONG_WORD),
        (b, "主播能切开一个给大家看看吗"),
        (d, "Do you ship to Hangzhou? 🚚"),
    ]
    for who, text in lines:
        world.messages.append(await who.say(room, text))
    world.questions = [
        await a.ask(room, "番茄哪天发货？"),
        await b.ask(room, "一箱大概有几个？适合做番茄炒蛋吗？"),
        await c.ask(room, HOSTILE + " 有农药残留检测报告吗？"),
        await d.ask(room, "Are these tomatoes organic certified? " + "🍅" * 3),
    ]
    # Votes: the pesticide question is the one most people want answered.
    for voter in (a, b, d, e):
        await voter.call("qa:vote", {"question_id": world.questions[2]["id"]})
    for voter in (c, e):
        await voter.call("qa:vote", {"question_id": world.questions[1]["id"]})

    world.reviews = [
        await review(shop, a, 5, "番茄收到了，个个饱满，沙瓤很甜。冷链包装很用心，一个都没压坏！",
                     [photo(((250, 220, 180), (240, 170, 120))), photo(((200, 230, 190), (120, 170, 110)))]),
        await review(shop, d, 4, RTL + " 🍅🍅 " + HOSTILE, [photo(((220, 220, 235), (160, 160, 200)))]),
        await review(shop, b, 2, "有两个软了，希望下次注意包装。", []),
    ]
    # Some history for the log: a slow-mode change and a timeout with a reason.
    await moderator.call("chat:slow_mode", {"room": room, "seconds": 5})
    await moderator.call("chat:timeout", {"room": room, "message_id": world.messages[4]["id"], "minutes": 10, "reason": "广告引流"})
    return world
