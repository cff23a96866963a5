"""Q&A over Socket.IO with real clients per role: ask, vote, queue, answer, hide, pin, suggestions.

Every account signs up over HTTP and connects with its session cookie, as a browser does; both
database modes run (SQLite and the real PostgreSQL).
"""

from __future__ import annotations

import asyncio
import secrets
import time
from collections import defaultdict
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pytest
import socketio
from aiohttp import web
from aiohttp.test_utils import TestClient

from overlay.layers.qa_card import QaCard, QaCardState
from server.app import create_app
from server.domain.accounts.grants import GRANTABLE
from server.domain.accounts.roles import Role
from server.features.qa import CARD_LAYER, QA
from server.http.keys import ACCOUNTS, MEDIA, ROOMS
from server.media import open_live_room
from streams.yuv import new_frame, plane_views
from tests.conftest import make_settings
from tests.helpers import add_room, grant_room

pytestmark = pytest.mark.timeout(90)

AppClient = TestClient[web.Request, web.Application]

HOSTILE = "<img src=x onerror=alert(1)>"
MOD_EVENTS = ("qa:answer", "qa:hide", "qa:pin", "qa:unpin", "qa:suggest")


@dataclass
class Peer:
    """One Socket.IO connection, recording every event it receives."""

    sio: socketio.AsyncClient
    name: str
    events: dict[str, list[Any]] = field(default_factory=lambda: defaultdict(list))
    arrived: asyncio.Event = field(default_factory=asyncio.Event)

    async def call(self, event: str, data: Any) -> dict[str, Any]:
        reply: dict[str, Any] = await self.sio.call(event, data, timeout=10)
        return reply

    async def expect(
        self, event: str, check: Callable[[Any], bool] = lambda _: True, *, since: int = 0, timeout: float = 5.0
    ) -> Any:
        """The first `event` (after the first `since` of them) that passes `check`."""
        deadline = time.monotonic() + timeout
        while True:
            for data in self.events[event][since:]:
                if check(data):
                    return data
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"{self.name} never got {event}; got {dict(self.events)}")
            self.arrived.clear()
            try:
                await asyncio.wait_for(self.arrived.wait(), left)
            except TimeoutError:
                pass

    async def settle(self, seconds: float = 0.3) -> None:
        """Give broadcasts that must NOT arrive the time they would have taken."""
        await asyncio.sleep(seconds)


# The rooms a host or moderator of the cast holds their role in (the brand's rooms the tests use).
CAST_ROOMS = ("farm", "farm-spring", "other-farm")


async def sign_up(
    client: AppClient, identifier: str, nickname: str, role: Role = Role.VIEWER, rooms: tuple[str, ...] = CAST_ROOMS
) -> str:
    """A new account over HTTP (as a browser signs up); returns its session cookie. A host or
    moderator holds that role in `rooms`."""
    resp = await client.post(
        "/api/auth/register", json={"identifier": identifier, "password": "tomato-2026", "nickname": nickname}
    )
    assert resp.status == 202, await resp.text()
    resp = await client.post("/api/auth/login", json={"identifier": identifier, "password": "tomato-2026"})
    assert resp.status == 200, await resp.text()
    body = await resp.json()
    if role is not Role.VIEWER:
        accounts = client.app[ACCOUNTS]
        user = await accounts.users.get(body["user"]["id"])
        assert user is not None
        await accounts.set_role(user, role)
        if role in GRANTABLE:
            for room in rooms:
                await grant_room(client.app, user.id or 0, room, role)
    return resp.cookies["fc_session"].value


async def connect(client: AppClient, cookie: str | None, name: str) -> Peer:
    sio = socketio.AsyncClient()
    peer = Peer(sio, name)

    async def record(event: str, data: Any = None) -> None:
        peer.events[event].append(data)
        peer.arrived.set()

    sio.on("*", record)
    headers = {"Cookie": f"fc_session={cookie}"} if cookie else {}
    # The default 1 s wait for the namespace is too short on a busy 2-core machine.
    await sio.connect(str(client.make_url("/")), headers=headers, transports=["websocket"], wait_timeout=15)
    return peer


@dataclass
class Cast:
    client: AppClient
    peers: dict[str, Peer]

    def __getitem__(self, name: str) -> Peer:
        return self.peers[name]


@pytest.fixture
async def client(database_url: str, aiohttp_client: Callable[..., Any]) -> AppClient:
    c: AppClient = await aiohttp_client(create_app(make_settings(database_url)))
    await add_room(c, "farm")
    return c


ACCOUNTS_BY_NAME: dict[str, tuple[str, str, Role]] = {
    "viewer": ("13800000001", "小番茄", Role.VIEWER),
    "viewer2": ("13800000002", "阿花", Role.VIEWER),
    "koc": ("koc@example.com", "种草达人", Role.KOC),
    "moderator": ("mod@example.com", "场控", Role.MODERATOR),
    "host": ("host@example.com", "农场主", Role.HOST),
    "operator": ("ops@example.com", "运营", Role.OPERATOR),
}


@pytest.fixture
async def cast(client: AppClient, request: pytest.FixtureRequest) -> AsyncIterator[Cast]:
    """Connected clients: anonymous plus the accounts a test names with @pytest.mark.cast(...)
    (all of them by default: two viewers, a KOC, a moderator, a host and an operator)."""
    marker = request.node.get_closest_marker("cast")
    names = marker.args if marker else tuple(ACCOUNTS_BY_NAME)
    # Concurrently: password hashing dominates, and the server runs it off the event loop.
    signed = await asyncio.gather(*(sign_up(client, *ACCOUNTS_BY_NAME[name]) for name in names))
    cookies: dict[str, str | None] = {"anonymous": None, **dict(zip(names, signed))}
    connected = await asyncio.gather(*(connect(client, cookie, name) for name, cookie in cookies.items()))
    peers = dict(zip(cookies, connected))
    try:
        yield Cast(client, peers)
    finally:
        for peer in peers.values():
            await peer.sio.disconnect()


async def subscribe_all(cast: Cast, room: str = "farm") -> None:
    for peer in cast.peers.values():
        reply = await peer.call("qa:subscribe", {"room": room})
        assert reply["ok"], reply


async def ask(peer: Peer, text: str, room: str = "farm") -> dict[str, Any]:
    reply = await peer.call("qa:ask", {"room": room, "text": text})
    assert reply.get("ok"), reply
    question: dict[str, Any] = reply["question"]
    return question


# -- asking and seeing ------------------------------------------------------------------------


@pytest.mark.cast("viewer", "viewer2", "moderator", "host")
async def test_a_signed_in_viewer_asks_and_the_room_and_moderators_see_it(cast: Cast) -> None:
    await subscribe_all(cast)
    q = await ask(cast["viewer"], "番茄什么时候发货？")
    assert q["text"] == "番茄什么时候发货？" and q["asker"] == "小番茄"
    assert q["status"] == "open" and q["votes"] == 0 and q["answer"] is None

    seen = await cast["anonymous"].expect("qa:question", lambda d: d["id"] == q["id"])
    assert seen == q
    mod = await cast["moderator"].expect("qa:mod:question", lambda d: d["id"] == q["id"])
    assert mod["hidden"] is False and mod["asker_id"] > 0
    await cast["viewer2"].settle()
    assert not cast["viewer2"].events["qa:mod:question"], "moderation events are for moderators only"
    assert "asker_id" not in seen, "the public view does not expose account ids"

    again = await cast["viewer"].call("qa:subscribe", {"room": "farm"})
    assert [x["id"] for x in again["questions"]] == [q["id"]]
    assert again["mine"] == [q["id"]] and again["voted"] == [] and again["moderator"] is False
    assert again["signed_in"] is True
    anon = await cast["anonymous"].call("qa:subscribe", {"room": "farm"})
    assert anon["questions"] == again["questions"] and anon["mine"] == [] and anon["pinned"] is None
    assert anon["signed_in"] is False
    assert (await cast["host"].call("qa:subscribe", {"room": "farm"}))["moderator"] is True


@pytest.mark.cast("viewer")
async def test_anonymous_viewers_see_the_public_queue_but_cannot_ask_or_vote(cast: Cast) -> None:
    q = await ask(cast["viewer"], "番茄甜吗")
    refused = await cast["anonymous"].call("qa:ask", {"room": "farm", "text": "我也想问"})
    assert refused["error"] == "sign_in_required" and refused["message"]
    refused = await cast["anonymous"].call("qa:vote", {"question_id": q["id"]})
    assert refused["error"] == "sign_in_required"
    listed = await cast["anonymous"].call("qa:list", {"room": "farm"})
    assert [x["id"] for x in listed["questions"]] == [q["id"]] and listed["questions"][0]["votes"] == 0


async def test_every_moderation_event_refuses_anonymous_viewers_and_kocs(cast: Cast) -> None:
    q = await ask(cast["viewer"], "番茄什么时候发货")
    payloads = {
        "qa:answer": {"question_id": q["id"], "text": "明天发", "pin": True},
        "qa:hide": {"question_id": q["id"]},
        "qa:pin": {"question_id": q["id"]},
        "qa:unpin": {"room": "farm"},
        "qa:suggest": {"question_id": q["id"]},
    }
    for name in ("anonymous", "viewer", "viewer2", "koc"):
        for event in MOD_EVENTS:
            reply = await cast[name].call(event, payloads[event])
            assert reply.get("error") == "forbidden", (name, event, reply)
        for status in ("hidden", "all"):
            reply = await cast[name].call("qa:list", {"room": "farm", "status": status})
            assert reply.get("error") == "forbidden", (name, status, reply)
    # Nothing a refused call asked for happened.
    listed = await cast["moderator"].call("qa:list", {"room": "farm", "status": "all"})
    assert listed["questions"][0]["status"] == "open" and listed["questions"][0]["answer"] is None
    assert (await cast["anonymous"].call("qa:subscribe", {"room": "farm"}))["pinned"] is None
    # ... and each moderating role may.
    for name in ("moderator", "host", "operator"):
        reply = await cast[name].call("qa:answer", {"question_id": q["id"], "text": f"{name} 的回答"})
        assert reply["ok"] and reply["question"]["answer"] == f"{name} 的回答"
        assert (await cast[name].call("qa:list", {"room": "farm", "status": "hidden"}))["ok"]


# -- votes and the queue ----------------------------------------------------------------------


@pytest.mark.cast("viewer", "viewer2", "koc")
async def test_one_vote_per_account_which_the_viewer_can_retract(cast: Cast) -> None:
    await subscribe_all(cast)
    q = await ask(cast["viewer"], "有没有打农药？")
    voter = cast["viewer2"]
    first = await voter.call("qa:vote", {"question_id": q["id"]})
    assert first == {"ok": True, "question_id": q["id"], "votes": 1, "voted": True}
    again = await voter.call("qa:vote", {"question_id": q["id"], "up": True})
    assert again["votes"] == 1, "a second vote from the same account does not count"
    # The same account on another device still has only its one vote.
    cookie = await voter_cookie(cast.client, "13800000002")
    other_device = await connect(cast.client, cookie, "viewer2-phone")
    try:
        assert (await other_device.call("qa:vote", {"question_id": q["id"]}))["votes"] == 1
        update = await cast["anonymous"].expect("qa:votes", lambda d: d["id"] == q["id"])
        assert update == {"room": "farm", "id": q["id"], "votes": 1}
        assert (await cast["koc"].call("qa:vote", {"question_id": q["id"]}))["votes"] == 2
        subscribed = await other_device.call("qa:subscribe", {"room": "farm"})
        assert subscribed["voted"] == [q["id"]]

        retract = await voter.call("qa:vote", {"question_id": q["id"], "up": False})
        assert retract == {"ok": True, "question_id": q["id"], "votes": 1, "voted": False}
        assert (await other_device.call("qa:vote", {"question_id": q["id"], "up": False}))["votes"] == 1
        assert (await other_device.call("qa:subscribe", {"room": "farm"}))["voted"] == []
    finally:
        await other_device.sio.disconnect()

    own = await cast["viewer"].call("qa:vote", {"question_id": q["id"]})
    assert own["error"] == "own_question"
    missing = await voter.call("qa:vote", {"question_id": 999_999})
    assert missing["error"] == "question_not_found"


async def voter_cookie(client: AppClient, identifier: str) -> str:
    resp = await client.post("/api/auth/login", json={"identifier": identifier, "password": "tomato-2026"})
    assert resp.status == 200
    return resp.cookies["fc_session"].value


@pytest.mark.cast("viewer", "viewer2", "koc", "moderator", "host")
async def test_the_queue_is_sorted_by_votes_then_age_and_filters_by_status(cast: Cast) -> None:
    older = await ask(cast["viewer"], "一箱有几斤？")
    newer = await ask(cast["viewer"], "可以开发票吗？")
    popular = await ask(cast["viewer2"], "番茄什么时候发货？")
    hidden = await ask(cast["viewer2"], "加我微信 xxx 便宜卖")
    for name in ("viewer", "koc", "moderator"):
        await cast[name].call("qa:vote", {"question_id": popular["id"]})
    await cast["koc"].call("qa:vote", {"question_id": newer["id"]})

    order = [x["id"] for x in (await cast["anonymous"].call("qa:list", {"room": "farm"}))["questions"]]
    assert order == [popular["id"], newer["id"], older["id"], hidden["id"]]
    # Equal votes: the older question first.
    await cast["koc"].call("qa:vote", {"question_id": older["id"]})
    order = [x["id"] for x in (await cast["anonymous"].call("qa:list", {"room": "farm"}))["questions"]]
    assert order == [popular["id"], older["id"], newer["id"], hidden["id"]]

    assert (await cast["moderator"].call("qa:answer", {"question_id": older["id"], "text": "5斤装"}))["ok"]
    assert (await cast["moderator"].call("qa:hide", {"question_id": hidden["id"]}))["ok"]

    async def ids(peer: Peer, status: str) -> list[int]:
        reply = await peer.call("qa:list", {"room": "farm", "status": status})
        assert reply.get("ok"), reply
        return [x["id"] for x in reply["questions"]]

    assert await ids(cast["viewer"], "public") == [popular["id"], older["id"], newer["id"]]
    assert await ids(cast["viewer"], "open") == [popular["id"], newer["id"]]
    assert await ids(cast["viewer"], "answered") == [older["id"]]
    assert await ids(cast["moderator"], "hidden") == [hidden["id"]]
    assert await ids(cast["host"], "all") == [popular["id"], older["id"], newer["id"], hidden["id"]]
    hidden_view = (await cast["moderator"].call("qa:list", {"room": "farm", "status": "hidden"}))["questions"][0]
    assert hidden_view["status"] == "hidden" and hidden_view["hidden"] is True
    # A hidden question does not exist for viewers.
    assert (await cast["viewer"].call("qa:vote", {"question_id": hidden["id"]}))["error"] == "question_not_found"


# -- answers, hiding, pinning -----------------------------------------------------------------


@pytest.mark.cast("viewer", "viewer2", "moderator", "host")
async def test_an_answer_reaches_the_asker_and_the_room(cast: Cast) -> None:
    await subscribe_all(cast)
    q = await ask(cast["viewer"], "番茄怎么保存？")
    reply = await cast["moderator"].call("qa:answer", {"question_id": q["id"], "text": "常温避光，别放冰箱"})
    assert reply["ok"] and reply["question"]["status"] == "answered"

    personal = await cast["viewer"].expect("qa:answered")
    assert personal["room"] == "farm" and personal["question"]["answer"] == "常温避光，别放冰箱"
    public = await cast["anonymous"].expect("qa:question", lambda d: d["id"] == q["id"] and d["status"] == "answered")
    assert public["answer"] == "常温避光，别放冰箱" and public["answered_at"]
    await cast["viewer2"].settle()
    assert not cast["viewer2"].events["qa:answered"], "only the asker gets the personal notice"
    # An edit replaces the answer.
    await cast["host"].call("qa:answer", {"question_id": q["id"], "text": "常温避光保存，三天内吃完"})
    listed = (await cast["anonymous"].call("qa:list", {"room": "farm", "status": "answered"}))["questions"]
    assert listed[0]["answer"] == "常温避光保存，三天内吃完"


@pytest.mark.cast("viewer", "viewer2", "moderator", "operator")
async def test_hiding_takes_a_question_out_of_the_public_queue_and_off_the_stream(cast: Cast) -> None:
    await subscribe_all(cast)
    q = await ask(cast["viewer"], "番茄多少钱一斤")
    await cast["moderator"].call("qa:answer", {"question_id": q["id"], "text": "9.9元一斤", "pin": True})
    assert (await cast["anonymous"].expect("qa:pinned", lambda d: d["question"] is not None))["question"]["id"] == q["id"]

    hidden = await cast["moderator"].call("qa:hide", {"question_id": q["id"]})
    assert hidden["ok"] and hidden["unpinned"] is True and hidden["question"]["status"] == "hidden"
    assert await cast["anonymous"].expect("qa:removed") == {"room": "farm", "id": q["id"]}
    assert (await cast["anonymous"].expect("qa:pinned", lambda d: d["question"] is None))["room"] == "farm"
    mod = await cast["operator"].expect("qa:mod:question", lambda d: d["id"] == q["id"] and d["hidden"])
    assert mod["status"] == "hidden"
    public = await cast["viewer2"].call("qa:subscribe", {"room": "farm"})
    assert public["questions"] == [] and public["pinned"] is None
    assert (await cast["moderator"].call("qa:pin", {"question_id": q["id"]}))["error"] == "question_hidden"

    before = len(cast["viewer2"].events["qa:question"])
    shown = await cast["moderator"].call("qa:hide", {"question_id": q["id"], "hidden": False})
    assert shown["question"]["status"] == "answered"
    back = await cast["viewer2"].expect("qa:question", lambda d: d["id"] == q["id"], since=before)
    assert back["answer"] == "9.9元一斤"


@pytest.mark.cast("viewer", "viewer2", "moderator", "host", "operator")
async def test_pinning_needs_an_answer_and_a_room_has_one_pinned_card(cast: Cast) -> None:
    first = await ask(cast["viewer"], "番茄什么时候发货")
    second = await ask(cast["viewer2"], "包邮吗")
    assert (await cast["moderator"].call("qa:pin", {"question_id": first["id"]}))["error"] == "not_answered"
    for q, text in ((first, "明天发顺丰"), (second, "江浙沪包邮")):
        await cast["moderator"].call("qa:answer", {"question_id": q["id"], "text": text})
    assert (await cast["moderator"].call("qa:pin", {"question_id": first["id"]}))["ok"]
    assert (await cast["host"].call("qa:pin", {"question_id": second["id"]}))["ok"]
    pinned = (await cast["anonymous"].call("qa:subscribe", {"room": "farm"}))["pinned"]
    assert pinned["id"] == second["id"] and pinned["answer"] == "江浙沪包邮"
    assert (await cast["operator"].call("qa:unpin", {"room": "farm"})) == {"ok": True, "unpinned": second["id"]}
    assert (await cast["operator"].call("qa:unpin", {"room": "farm"})) == {"ok": True, "unpinned": None}
    assert (await cast["anonymous"].call("qa:subscribe", {"room": "farm"}))["pinned"] is None


@pytest.mark.cast("viewer", "moderator")
@pytest.mark.media
async def test_a_pin_puts_the_qa_card_on_the_live_room_and_unpin_fades_it(cast: Cast) -> None:
    app = cast.client.app
    room = await app[ROOMS].get("farm")
    assert room is not None
    live = await open_live_room(app, room)
    layer = live.compositor.get(CARD_LAYER)
    assert isinstance(layer, QaCard) and not layer.visible, "installed in the room, hidden"

    q = await ask(cast["viewer"], "番茄什么时候发货？能发顺丰冷链吗")
    answer = "今天下午4点前下单当天发货，顺丰冷链次日达"
    assert (await cast["moderator"].call("qa:answer", {"question_id": q["id"], "text": answer, "pin": True}))["ok"]
    expected = QaCardState(question="番茄什么时候发货？能发顺丰冷链吗", answer=answer, asker="小番茄")
    assert layer.state == expected and layer.visible

    # A frame composited by the room's compositor shows the card exactly where the layer draws it.
    # The pipeline stops first, so the test's frames are the only ones driving the fades.
    await live.stop()
    rendered = layer.render(expected, (live.width, live.height))
    assert rendered is not None
    with_card = composite(live.compositor)
    layer.hide()
    without = composite(live.compositor)
    layer.show()
    changed = np.argwhere(np.abs(with_card.astype(int) - without.astype(int)).max(axis=2) > 8)
    (y0, x0), (y1, x1) = changed.min(axis=0), changed.max(axis=0)
    box = (rendered.x, rendered.y, rendered.x + rendered.image.width, rendered.y + rendered.image.height)
    # 4:2:0 chroma is shared by 2x2 pixels: an edge on an odd row or column tints one more.
    assert box[0] - 1 <= x0 and box[1] - 1 <= y0 and x1 <= box[2] and y1 <= box[3], "nothing drawn outside the card"
    assert x0 - box[0] < 4 and y0 - box[1] < 4 and box[2] - x1 < 6 and box[3] - y1 < 6, "the whole card is drawn"
    lower_third = live.compositor.get("lower-third")
    assert lower_third is not None
    lt = lower_third.render(lower_third.state, (live.width, live.height))
    assert lt is not None and box[3] <= lt.y, "the card sits above the lower third"

    assert (await cast["moderator"].call("qa:unpin", {"room": "farm"}))["ok"]
    assert not layer.visible and layer.state == expected, "it fades out showing what it showed"
    # The room reopening (a restart, another node) brings the pinned card back from the database.
    assert (await cast["moderator"].call("qa:pin", {"question_id": q["id"]}))["ok"]
    await app[MEDIA].close_room("farm")
    reopened = await open_live_room(app, room)
    card = reopened.compositor.get(CARD_LAYER)
    assert card is not None
    for _ in range(100):
        if card.visible:
            break
        await asyncio.sleep(0.02)
    assert card.visible and card.state == expected


def composite(compositor: Any) -> np.ndarray:
    """A grey frame through the compositor once any fade in progress has finished."""
    frame = new_frame(compositor.width, compositor.height)
    y, u, v = plane_views(frame)
    now = time.monotonic()
    for t in (now, now + 5):  # a fade starts at the first frame after show()/hide()
        y[:] = 120
        u[:] = 128
        v[:] = 128
        compositor.composite(y, u, v, t)
    rgb: np.ndarray = frame.to_ndarray(format="rgb24")
    return rgb


# -- suggested answers ------------------------------------------------------------------------


@pytest.mark.cast("viewer", "viewer2", "koc", "moderator")
async def test_a_question_like_one_answered_before_for_the_brand_gets_its_answer_offered(cast: Cast) -> None:
    client = cast.client
    await add_room(client, "farm-spring", title="春季番茄专场", brand="青禾农场")  # an earlier session
    await add_room(client, "other-farm", title="别家", brand="绿野农庄")
    await subscribe_all(cast)
    earlier = await ask(cast["viewer"], "番茄什么时候发货？", room="farm-spring")
    await cast["moderator"].call("qa:answer", {"question_id": earlier["id"], "text": "下单后48小时内顺丰冷链发出"})
    invoice = await ask(cast["viewer"], "可以开发票吗", room="farm-spring")
    await cast["moderator"].call("qa:answer", {"question_id": invoice["id"], "text": "可以，下单备注抬头"})
    elsewhere = await ask(cast["viewer"], "番茄哪天发货", room="other-farm")
    await cast["moderator"].call("qa:answer", {"question_id": elsewhere["id"], "text": "别家的答案"})

    similar = await ask(cast["viewer2"], "番茄哪天发货")
    offered = await cast["moderator"].expect("qa:suggestions", lambda d: d["question_id"] == similar["id"])
    assert [s["question_id"] for s in offered["suggestions"]] == [earlier["id"]], "same brand only"
    best = offered["suggestions"][0]
    assert best["answer"] == "下单后48小时内顺丰冷链发出" and best["room"] == "farm-spring" and best["score"] >= 0.45

    # One click: the console sends the suggested text as the answer.
    reply = await cast["moderator"].call("qa:answer", {"question_id": similar["id"], "text": best["answer"]})
    assert reply["question"]["answer"] == best["answer"]

    unrelated = await ask(cast["viewer2"], "主播今天穿得好好看")
    assert (await cast["moderator"].call("qa:suggest", {"question_id": unrelated["id"]}))["suggestions"] == []
    await cast["moderator"].settle()
    assert not [d for d in cast["moderator"].events["qa:suggestions"] if d["question_id"] == unrelated["id"]]
    listed = (await cast["moderator"].call("qa:list", {"room": "farm", "status": "open"}))["questions"]
    assert [x["suggestions"] for x in listed] == [[]]
    # A hidden answer is not offered any more.
    await cast["moderator"].call("qa:hide", {"question_id": earlier["id"]})
    again = await ask(cast["koc"], "西红柿几号能发货")
    assert (await cast["moderator"].call("qa:suggest", {"question_id": again["id"]}))["suggestions"] == [
        {"question_id": similar["id"], "room": "farm", "question": "番茄哪天发货",
         "answer": "下单后48小时内顺丰冷链发出", "score": pytest.approx(0.7, abs=0.2)},
    ]


# -- hostile and malformed input --------------------------------------------------------------


def same_id(question_id: int) -> Callable[[Any], bool]:
    return lambda data: bool(data["id"] == question_id)


@pytest.mark.cast("viewer", "viewer2", "moderator")
async def test_user_text_is_kept_as_text_and_bad_input_gets_a_clear_error(cast: Cast) -> None:
    await subscribe_all(cast)
    viewer = cast["viewer"]
    for text in (HOSTILE, "番茄🍅好吃吗👍🏽", "هل الطماطم عضوية؟", "<script>alert('x')</script> 'OR 1=1 --"):
        q = await ask(viewer, text)
        assert q["text"] == text
        seen = await cast["anonymous"].expect("qa:question", same_id(q["id"]))
        assert seen["text"] == text
    # Bidi overrides and control characters are dropped, spaces collapse.
    q = await ask(cast["viewer2"], "\u202egnp.exe\u202c  番茄\n\t发货？\x00")
    assert q["text"] == "gnp.exe 番茄 发货？"

    too_long = await viewer.call("qa:ask", {"room": "farm", "text": "番" * 2000})
    assert too_long["error"] == "text_too_long" and "300" in too_long["message"] and "2000" in too_long["message"]
    assert (await viewer.call("qa:ask", {"room": "farm", "text": " \u200b\u202e \n"}))["error"] == "text_empty"
    assert (await viewer.call("qa:ask", {"room": "farm", "text": HOSTILE}))["error"] == "duplicate_question"
    assert (await viewer.call("qa:ask", {"room": "nowhere", "text": "hi"}))["error"] == "not_found"
    for bad in ({"room": "farm"}, {"room": "farm", "text": 5}, {"room": "<b>", "text": "x"},
                {"room": "farm", "text": "x", "admin": True}, "not an object", None):
        reply = await viewer.call("qa:ask", bad)
        assert reply["error"] == "invalid_input" and reply["message"], bad
    assert (await viewer.call("qa:vote", {"question_id": "1; drop table"}))["error"] == "invalid_input"
    answer = await cast["moderator"].call("qa:answer", {"question_id": q["id"], "text": "答" * 1001})
    assert answer["error"] == "text_too_long"
    ok = await cast["moderator"].call("qa:answer", {"question_id": q["id"], "text": HOSTILE})
    assert ok["question"]["answer"] == HOSTILE
    # Nothing already accepted was lost along the way.
    listed = await cast["anonymous"].call("qa:list", {"room": "farm"})
    assert len(listed["questions"]) == 5


@pytest.mark.cast("viewer", "moderator")
async def test_an_account_has_a_bounded_number_of_open_questions(cast: Cast) -> None:
    cast.client.app[QA].ask_rate = (20, 60.0)  # this test is about the cap, not the pace
    for i in range(5):
        await ask(cast["viewer"], f"第{i}个问题")
    refused = await cast["viewer"].call("qa:ask", {"room": "farm", "text": "第六个问题"})
    assert refused["error"] == "too_many_open"
    first = (await cast["anonymous"].call("qa:list", {"room": "farm"}))["questions"][0]
    await cast["moderator"].call("qa:answer", {"question_id": first["id"], "text": "答了"})
    assert (await cast["viewer"].call("qa:ask", {"room": "farm", "text": "第六个问题"}))["ok"]


# -- scaling out ------------------------------------------------------------------------------


async def test_two_nodes_share_the_queue_and_the_pinned_card_through_redis(
    database_url: str, aiohttp_client: Callable[..., Any]
) -> None:
    settings = make_settings(database_url, redis_url="redis://127.0.0.1:6379/0")
    node_a: AppClient = await aiohttp_client(create_app(settings))
    node_b: AppClient = await aiohttp_client(create_app(settings))
    # Redis is shared by every server on it (other tests, earlier runs with the same user ids):
    # a room of our own, and rate limits out of the way.
    room_id = f"farm-{secrets.token_hex(4)}"
    for node in (node_a, node_b):
        node.app[QA].ask_rate = node.app[QA].vote_rate = (1000, 1.0)
    await add_room(node_a, room_id)
    room = await node_b.app[ROOMS].get(room_id)
    assert room is not None
    live = await open_live_room(node_b.app, room)  # the room's pipeline runs on node B
    await live.stop()  # its compositor is what we look at; no frames needed
    assert room_id not in node_a.app[MEDIA].rooms

    mod = await connect(node_a, await sign_up(node_a, "mod@example.com", "场控", Role.MODERATOR, (room_id,)), "moderator@a")
    viewer = await connect(node_b, await sign_up(node_b, "13800000001", "小番茄"), "viewer@b")
    try:
        for peer in (mod, viewer):
            assert (await peer.call("qa:subscribe", {"room": room_id}))["ok"]
        q = await ask(viewer, "番茄什么时候发货？", room=room_id)
        seen = await mod.expect("qa:mod:question", lambda d: d["id"] == q["id"])
        assert seen["text"] == "番茄什么时候发货？"

        reply = await mod.call("qa:answer", {"question_id": q["id"], "text": "明天顺丰发", "pin": True})
        assert reply["ok"]
        assert (await viewer.expect("qa:answered"))["question"]["answer"] == "明天顺丰发"
        assert (await viewer.expect("qa:pinned", lambda d: d["question"] is not None))["question"]["id"] == q["id"]
        card = live.compositor.get(CARD_LAYER)
        assert card is not None
        for _ in range(100):
            if card.visible:
                break
            await asyncio.sleep(0.02)
        assert card.visible and card.state == QaCardState("番茄什么时候发货？", "明天顺丰发", "小番茄")

        assert (await mod.call("qa:unpin", {"room": room_id}))["ok"]
        for _ in range(100):
            if not card.visible:
                break
            await asyncio.sleep(0.02)
        assert not card.visible
    finally:
        for peer in (mod, viewer):
            await peer.sio.disconnect()


@pytest.mark.cast("viewer", "viewer2", "moderator")
async def test_asking_and_voting_faster_than_a_person_taps_is_refused(cast: Cast) -> None:
    for i in range(5):
        await ask(cast["viewer"], f"问题{i}")
    fast = await cast["viewer"].call("qa:ask", {"room": "farm", "text": "再问一个"})
    assert fast["error"] == "rate_limited" and "wait" in fast["message"]

    q = (await cast["anonymous"].call("qa:list", {"room": "farm"}))["questions"][0]
    for i in range(12):  # a stuck finger: vote, retract, vote, ...
        reply = await cast["viewer2"].call("qa:vote", {"question_id": q["id"], "up": i % 2 == 0})
        assert reply.get("ok"), (i, reply)
    assert (await cast["viewer2"].call("qa:vote", {"question_id": q["id"]}))["error"] == "rate_limited"
    for i in range(20):  # moderators are not slowed down
        assert (await cast["moderator"].call("qa:vote", {"question_id": q["id"], "up": i % 2 == 0}))["ok"]
    # The refusals cost nothing that was accepted.
    listed = await cast["anonymous"].call("qa:list", {"room": "farm"})
    assert len(listed["questions"]) == 5
