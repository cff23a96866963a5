"""Chat end to end: real python-socketio clients, each signed up over HTTP with its own cookies.

The tests that take `database_url` run against SQLite and against the real PostgreSQL.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

import pytest
from aiohttp.test_utils import TestServer

from server.app import create_app
from server.domain.accounts.roles import Role
from tests.conftest import make_settings
from tests.helpers import add_room

from .chat_peers import Peer, new_peer

pytestmark = pytest.mark.timeout(90)


async def start(aiohttp_server: Callable[..., Any], url: str, **settings: Any) -> TestServer:
    server: TestServer = await aiohttp_server(create_app(make_settings(url, **settings)))
    await add_room(server, "farm")  # type: ignore[arg-type]
    return server


@pytest.mark.both_loops
async def test_history_on_join_carries_the_last_messages_in_order_and_anonymous_viewers_only_read(
    database_url: str, aiohttp_server: Callable[..., Any], aiohttp_client: Callable[..., Any], peers: list[Peer]
) -> None:
    server = await start(aiohttp_server, database_url)
    host = await new_peer(server, aiohttp_client, Role.HOST, nickname="青禾农场")
    viewer = await new_peer(server, aiohttp_client, nickname="小番茄")
    peers += [host, viewer]
    await host.join()
    joined = await viewer.join()
    assert joined["messages"] == [] and joined["me"]["signed_in"] is True
    assert joined["me"]["can_moderate"] is False and joined["me"]["restriction"] is None

    sent = [await viewer.say(text) for text in ("番茄什么时候发货？", "好甜 🍅🍅", "👨‍👩‍👧‍👦 全家都爱吃")]
    assert all(s.get("ok") for s in sent), sent
    # The host is exempt from the rate limit: 55 more, so history has to cut at 50.
    for i in range(55):
        assert (await host.say(f"第{i}号 现摘现发"))["ok"]

    anon = await new_peer(server, aiohttp_client, None)
    peers.append(anon)
    first = await anon.join()
    assert first["me"] == {"signed_in": False, "user_id": None, "role": "viewer", "can_moderate": False, "restriction": None}
    texts = [m["text"] for m in first["messages"]]
    assert len(texts) == 50
    assert texts[0] == "第5号 现摘现发" and texts[-1] == "第54号 现摘现发"
    assert [m["id"] for m in first["messages"]] == sorted(m["id"] for m in first["messages"])
    assert all(set(m) == {"id", "room", "user_id", "nickname", "role", "community", "text", "at"} for m in first["messages"])
    older = await anon.call("chat:history", {"room": "farm", "before_id": first["messages"][0]["id"], "limit": 10})
    assert [m["text"] for m in older["messages"]] == [
        "番茄什么时候发货？", "好甜 🍅🍅", "👨‍👩‍👧‍👦 全家都爱吃", *(f"第{i}号 现摘现发" for i in range(5))
    ]
    assert older["messages"][0]["nickname"] == "小番茄" and older["messages"][0]["user_id"] == viewer.user_id

    refused = await anon.say("我也想说话")
    assert refused["error"] == "unauthorized"

    live = await viewer.say("刚下单了 ✅")
    got = await anon.wait_message(live["message"]["id"])
    assert got == live["message"] and got["nickname"] == "小番茄" and got["role"] == "viewer"


async def test_send_needs_a_joined_room_and_a_real_room(
    sqlite_url: str, aiohttp_server: Callable[..., Any], aiohttp_client: Callable[..., Any], peers: list[Peer]
) -> None:
    server = await start(aiohttp_server, sqlite_url)
    viewer = await new_peer(server, aiohttp_client)
    peers.append(viewer)
    assert (await viewer.say("hello"))["error"] == "not_joined"
    assert (await viewer.call("chat:join", {"room": "nowhere"}))["error"] == "not_found"
    assert (await viewer.call("chat:join", {"room": "<script>"}))["error"] == "invalid_input"
    assert (await viewer.call("chat:send", {"room": "farm", "text": "x", "extra": 1}))["error"] == "invalid_input"
    await viewer.join()
    assert (await viewer.say("hello"))["ok"]


async def test_a_removed_message_is_gone_for_everyone_and_from_history(
    database_url: str, aiohttp_server: Callable[..., Any], aiohttp_client: Callable[..., Any], peers: list[Peer]
) -> None:
    server = await start(aiohttp_server, database_url)
    mod = await new_peer(server, aiohttp_client, Role.MODERATOR, nickname="管理员小李")
    author = await new_peer(server, aiohttp_client)
    anon = await new_peer(server, aiohttp_client, None)
    peers += [mod, author, anon]
    for p in peers:
        await p.join()
    keep = (await author.say("这批番茄很新鲜"))["message"]
    spam = (await author.say("加我私聊便宜卖"))["message"]
    await anon.wait_message(spam["id"])

    reply = await mod.call("chat:remove", {"room": "farm", "id": spam["id"], "reason": "私下交易"})
    assert reply == {"ok": True, "ids": [spam["id"]]}
    for p in (mod, author, anon):
        await p.wait_for(lambda p=p: spam["id"] in p.removed())  # type: ignore[misc]
    late = await new_peer(server, aiohttp_client, None)
    peers.append(late)
    history = await late.join()
    assert [m["id"] for m in history["messages"]] == [keep["id"]]
    again = await mod.call("chat:remove", {"room": "farm", "id": spam["id"]})
    assert again["error"] == "not_found"

    log = await mod.call("chat:modlog", {"room": "farm"})
    entry = log["entries"][0]
    assert entry["action"] == "remove" and entry["actor"] == "管理员小李" and entry["actor_id"] == mod.user_id
    assert entry["target_user_id"] == author.user_id and entry["message_ids"] == [spam["id"]]
    assert entry["detail"]["reason"] == "私下交易" and entry["detail"]["text"] == "加我私聊便宜卖"


async def test_a_ban_holds_across_nickname_change_new_account_same_device_and_same_ip(
    database_url: str, aiohttp_server: Callable[..., Any], aiohttp_client: Callable[..., Any], peers: list[Peer]
) -> None:
    server = await start(aiohttp_server, database_url)
    mod = await new_peer(server, aiohttp_client, Role.MODERATOR)
    spammer = await new_peer(server, aiohttp_client, nickname="spam王", ip="127.0.0.2")
    watcher = await new_peer(server, aiohttp_client, None, ip="127.0.0.9")
    peers += [mod, spammer, watcher]
    for p in peers:
        await p.join()
    first = (await spammer.say("便宜 私聊"))["message"]
    second = (await spammer.say("真的便宜"))["message"]

    banned = await mod.call("chat:ban", {"room": "farm", "message_id": first["id"], "reason": "广告"})
    assert banned["ok"] and banned["sanction"]["kind"] == "ban" and banned["sanction"]["user_id"] == spammer.user_id
    assert sorted(banned["removed"]) == [first["id"], second["id"]]
    await watcher.wait_for(lambda: {first["id"], second["id"]} <= watcher.removed())
    await watcher.wait_for(lambda: watcher.events["chat:sanctioned"])
    assert watcher.events["chat:sanctioned"][0]["nickname"] == "spam王"
    assert (await spammer.say("我又来了"))["error"] == "banned"

    # A new nickname, and a fresh connection: still the same account.
    csrf = (await (await spammer.http.get("/api/me")).json())["csrf"]
    resp = await spammer.http.patch("/api/me", json={"nickname": "好人"}, headers={"X-CSRF-Token": csrf})
    assert resp.status == 200
    await spammer.connect(ip="127.0.0.2")
    rejoined = await spammer.join()
    assert rejoined["me"]["restriction"] == {"kind": "ban", "until": None}
    assert (await spammer.say("改名了"))["error"] == "banned"

    # Signed out, a brand-new account in the same browser, from another address: the device holds.
    spammer_id = spammer.user_id
    await spammer.sign_out()
    fresh_account = await new_peer(server, aiohttp_client, http=spammer.http, ip="127.0.0.3")
    peers.append(fresh_account)
    await fresh_account.join()
    assert fresh_account.user_id != spammer_id
    assert (await fresh_account.say("新号"))["error"] == "banned"

    # A new browser (new device id, a new account) on the banned address: the IP holds.
    same_ip = await new_peer(server, aiohttp_client, ip="127.0.0.2")
    elsewhere = await new_peer(server, aiohttp_client, ip="127.0.0.4")
    peers += [same_ip, elsewhere]
    await same_ip.join()
    await elsewhere.join()
    assert (await same_ip.say("同一个网络"))["error"] == "banned"
    assert (await elsewhere.say("我是别人"))["ok"], "someone else elsewhere is not caught"

    lifted = await mod.call("chat:unban", {"room": "farm", "user_id": spammer_id})
    assert lifted["ok"] and [s["kind"] for s in lifted["lifted"]] == ["ban"]
    await watcher.wait_for(lambda: watcher.events["chat:lifted"])
    assert (await fresh_account.say("解封了"))["ok"]
    assert (await same_ip.say("我也能说了"))["ok"]
    actions = [e["action"] for e in (await mod.call("chat:modlog", {"room": "farm"}))["entries"]]
    assert actions == ["unban", "ban"]


async def test_the_ip_part_of_a_ban_lapses_after_the_configured_hours(
    sqlite_url: str, aiohttp_server: Callable[..., Any], aiohttp_client: Callable[..., Any], peers: list[Peer]
) -> None:
    server = await start(aiohttp_server, sqlite_url, chat_ban_ip_hours=0)
    mod = await new_peer(server, aiohttp_client, Role.MODERATOR)
    spammer = await new_peer(server, aiohttp_client, ip="127.0.0.2")
    neighbour = await new_peer(server, aiohttp_client, ip="127.0.0.2")
    peers += [mod, spammer, neighbour]
    for p in peers:
        await p.join()
    message = (await spammer.say("广告"))["message"]
    assert (await mod.call("chat:ban", {"room": "farm", "message_id": message["id"]}))["ok"]
    assert (await spammer.say("还在吗"))["error"] == "banned"
    assert (await neighbour.say("我只是邻居"))["ok"]


async def test_a_timeout_holds_in_its_room_for_its_minutes_and_can_be_lifted(
    sqlite_url: str, aiohttp_server: Callable[..., Any], aiohttp_client: Callable[..., Any], peers: list[Peer]
) -> None:
    server = await start(aiohttp_server, sqlite_url)
    await add_room(server, "orchard")  # type: ignore[arg-type]
    host = await new_peer(server, aiohttp_client, Role.HOST)
    viewer = await new_peer(server, aiohttp_client)
    peers += [host, viewer]
    await host.join()
    await viewer.join()
    await viewer.join("orchard")
    reply = await host.call("chat:timeout", {"room": "farm", "user_id": viewer.user_id, "minutes": 5, "reason": "刷屏"})
    assert reply["ok"] and reply["sanction"]["kind"] == "timeout" and reply["sanction"]["until"]
    refused = await viewer.say("为什么")
    assert refused["error"] == "timed_out" and 290 < refused["retry_after"] <= 300
    assert (await viewer.say("这里可以说", room="orchard"))["ok"], "a timeout holds only where it was given"
    sanctions = await host.call("chat:sanctions", {"room": "farm"})
    assert [s["user_id"] for s in sanctions["sanctions"]] == [viewer.user_id]
    assert (await host.call("chat:unban", {"room": "farm", "user_id": viewer.user_id}))["ok"]
    assert (await viewer.say("谢谢"))["ok"]
    assert (await host.call("chat:unban", {"room": "farm", "user_id": viewer.user_id}))["error"] == "not_found"


async def test_slow_mode_spaces_each_viewers_messages_but_not_moderators(
    sqlite_url: str, aiohttp_server: Callable[..., Any], aiohttp_client: Callable[..., Any], peers: list[Peer]
) -> None:
    server = await start(aiohttp_server, sqlite_url)
    mod = await new_peer(server, aiohttp_client, Role.MODERATOR)
    a = await new_peer(server, aiohttp_client)
    b = await new_peer(server, aiohttp_client)
    peers += [mod, a, b]
    for p in peers:
        await p.join()
    assert (await mod.call("chat:slow_mode", {"room": "farm", "seconds": 30})) == {"ok": True, "slow_mode_s": 30}
    await a.wait_for(lambda: a.events["chat:mode"])
    assert a.events["chat:mode"][-1] == {"room": "farm", "slow_mode_s": 30}
    assert (await a.join())["slow_mode_s"] == 30
    assert (await a.say("第一条"))["ok"]
    second = await a.say("第二条")
    assert second["error"] == "slow_mode" and 25 < second["retry_after"] <= 30
    assert (await b.say("我还没说过"))["ok"], "slow mode is per person"
    assert all([(await mod.say(f"管理员 {i}"))["ok"] for i in range(3)])
    assert (await mod.call("chat:slow_mode", {"room": "farm", "seconds": 0}))["slow_mode_s"] == 0
    assert (await a.say("关了"))["ok"]
    assert (await mod.call("chat:slow_mode", {"room": "farm", "seconds": 601}))["error"] == "invalid_input"


async def test_blocked_words_refuse_the_message_with_a_clear_code(
    database_url: str, aiohttp_server: Callable[..., Any], aiohttp_client: Callable[..., Any], peers: list[Peer]
) -> None:
    server = await start(aiohttp_server, database_url, chat_blocked_words=["vx"], chat_rate_messages=50)
    mod = await new_peer(server, aiohttp_client, Role.MODERATOR)
    viewer = await new_peer(server, aiohttp_client)
    peers += [mod, viewer]
    for p in peers:
        await p.join()
    words = await mod.call("chat:filter", {"room": "farm", "words": ["微信", "  私聊  ", "微信"]})
    assert words == {"ok": True, "words": ["微信", "私聊"], "global_words": ["vx"]}
    for text, word in [("加我微信", "微信"), ("加 微 信 便宜", "微信"), ("ＶＸ：12345", "vx"), ("v.x 联系", "vx"), ("私聊我", "私聊")]:
        refused = await viewer.say(text)
        assert refused["error"] == "blocked_word" and word in refused["message"], (text, refused)
    for text in ("这个品种叫 novx", "微 博 上看到的", "好吃"):
        assert (await viewer.say(text))["ok"], text
    assert (await mod.say("本店不接受微信下单"))["ok"], "staff are not filtered"
    settings = await mod.call("chat:settings", {"room": "farm"})
    assert settings["words"] == ["微信", "私聊"] and settings["global_words"] == ["vx"]
    log = (await mod.call("chat:modlog", {"room": "farm"}))["entries"][0]
    assert log["action"] == "filter" and log["detail"]["added"] == ["微信", "私聊"]
    history = [m["text"] for m in (await viewer.join())["messages"]]
    assert not any("微信" in t and "本店" not in t for t in history)


async def test_rate_limit_allows_a_burst_then_refuses_and_staff_are_exempt(
    sqlite_url: str, aiohttp_server: Callable[..., Any], aiohttp_client: Callable[..., Any], peers: list[Peer]
) -> None:
    server = await start(aiohttp_server, sqlite_url)
    mod = await new_peer(server, aiohttp_client, Role.MODERATOR)
    op = await new_peer(server, aiohttp_client, Role.OPERATOR)
    koc = await new_peer(server, aiohttp_client, Role.KOC)
    viewer = await new_peer(server, aiohttp_client)
    peers += [mod, op, koc, viewer]
    for p in peers:
        await p.join()
    replies = [await viewer.say(f"消息 {i}") for i in range(6)]
    assert [r.get("ok") for r in replies[:5]] == [True] * 5
    assert replies[5]["error"] == "rate_limited" and 0 < replies[5]["retry_after"] <= 2.0
    koc_replies = [await koc.say(f"达人 {i}") for i in range(6)]
    assert koc_replies[5]["error"] == "rate_limited", "KOCs are not staff"
    for staff in (mod, op):
        assert all([(await staff.say(f"工作人员 {i}"))["ok"] for i in range(12)])


async def test_a_flood_from_one_client_neither_slows_the_room_nor_gets_through(
    sqlite_url: str, aiohttp_server: Callable[..., Any], aiohttp_client: Callable[..., Any], peers: list[Peer]
) -> None:
    server = await start(aiohttp_server, sqlite_url)
    flooder = await new_peer(server, aiohttp_client, nickname="flood")
    talker = await new_peer(server, aiohttp_client, nickname="talker")
    listener = await new_peer(server, aiohttp_client, None)
    peers += [flooder, talker, listener]
    for p in peers:
        await p.join()
    assert flooder.sio is not None
    for i in range(400):  # fire and forget, as a script would
        await flooder.sio.emit("chat:send", {"room": "farm", "text": f"刷屏 {i}"})
    started = time.monotonic()
    said = await talker.say("正常聊天")
    assert said["ok"]
    await listener.wait_message(said["message"]["id"])
    assert time.monotonic() - started < 2.0, "the flood held up somebody else's message"
    await flooder.wait_for(lambda: not flooder.sio or not flooder.sio.connected, timeout=10)

    async def flood_stored() -> int:
        return len([m for m in (await listener.join())["messages"] if m["nickname"] == "flood"])

    # The burst passed the limit before the disconnect; its last commit may still be on its way.
    deadline = time.monotonic() + 10
    while await flood_stored() < 5 and time.monotonic() < deadline:
        await asyncio.sleep(0.1)
    assert await flood_stored() == 5, "the burst got through, nothing more"


HOSTILE = [
    ("<img src=x onerror=alert(1)>", "<img src=x onerror=alert(1)>"),
    ("<script>alert('x')</script>", "<script>alert('x')</script>"),
    ("\"'`;--", "\"'`;--"),
    ("مرحبا بالعالم! الطماطم طازجة", "مرحبا بالعالم! الطماطم طازجة"),
    ("שלום 123", "שלום 123"),
    ("🍅👨‍👩‍👧‍👦🏴󠁧󠁢󠁥󠁮󠁧󠁿👍🏽", "🍅👨‍👩‍👧‍👦🏴󠁧󠁢󠁥󠁮󠁧󠁿👍🏽"),
    ("\u202egnp.exe", "gnp.exe"),  # a right-to-left override cannot flip what follows
    ("微\u200b信", "微信"),  # invisible spaces are dropped (and cannot dodge the filter)
    ("第一行\n第二行\t\r第三行", "第一行 第二行 第三行"),
    # Stacked marks are cut at four (after NFC has folded Z + acute into Ź).
    ("Z\u0301\u0302\u0303\u0304\u0305\u0306\u0307", "\u0179\u0302\u0303\u0304\u0305"),
    ("番" * 200, "番" * 200),
]


async def test_hostile_strings_are_stored_and_echoed_as_plain_text(
    database_url: str, aiohttp_server: Callable[..., Any], aiohttp_client: Callable[..., Any], peers: list[Peer]
) -> None:
    server = await start(aiohttp_server, database_url, chat_rate_messages=100)
    sender = await new_peer(server, aiohttp_client, nickname="<b>粗体</b>")
    reader = await new_peer(server, aiohttp_client, None)
    peers += [sender, reader]
    await sender.join()
    await reader.join()
    ids = []
    for raw, expected in HOSTILE:
        reply = await sender.say(raw)
        assert reply.get("ok"), (raw, reply)
        assert reply["message"]["text"] == expected
        assert reply["message"]["nickname"] == "<b>粗体</b>"
        ids.append(reply["message"]["id"])
    live = await reader.wait_message(ids[-1])
    assert live["text"] == "番" * 200
    assert [m["text"] for m in reader.messages()] == [e for _, e in HOSTILE]
    history = (await reader.join())["messages"]
    assert [m["text"] for m in history] == [e for _, e in HOSTILE]

    too_long = await sender.say("番" * 2000)
    assert too_long["error"] == "message_too_long" and "200" in too_long["message"]
    assert (await sender.say("番" * 4001))["error"] == "invalid_input"
    assert (await sender.say(" \n\t\u200b "))["error"] == "empty_message"
    assert (await sender.say(12345))["error"] == "invalid_input"  # type: ignore[arg-type]


async def test_staff_cannot_be_sanctioned_and_bad_targets_are_refused(
    sqlite_url: str, aiohttp_server: Callable[..., Any], aiohttp_client: Callable[..., Any], peers: list[Peer]
) -> None:
    server = await start(aiohttp_server, sqlite_url)
    mod = await new_peer(server, aiohttp_client, Role.MODERATOR)
    host = await new_peer(server, aiohttp_client, Role.HOST)
    peers += [mod, host]
    await mod.join()
    assert (await mod.call("chat:ban", {"room": "farm", "user_id": host.user_id}))["error"] == "forbidden"
    assert (await mod.call("chat:timeout", {"room": "farm", "user_id": 999999, "minutes": 1}))["error"] == "not_found"
    both = await mod.call("chat:ban", {"room": "farm", "user_id": host.user_id, "message_id": 1})
    assert both["error"] == "invalid_input"
    assert (await mod.call("chat:timeout", {"room": "farm", "user_id": host.user_id, "minutes": 0}))["error"] == "invalid_input"
    # Moderating is per room: no grant in a room that does not exist either.
    assert (await mod.call("chat:slow_mode", {"room": "nowhere", "seconds": 5}))["error"] == "forbidden"
    assert (await mod.call("chat:modlog", {"room": "farm"}))["entries"] == []


def _moderator_calls(room: str, message_id: int, target: int) -> list[tuple[str, dict[str, Any]]]:
    return [
        ("chat:remove", {"room": room, "id": message_id}),
        ("chat:timeout", {"room": room, "user_id": target, "minutes": 1}),
        ("chat:unban", {"room": room, "user_id": target}),
        ("chat:ban", {"room": room, "user_id": target}),
        ("chat:unban", {"room": room, "user_id": target}),
        ("chat:slow_mode", {"room": room, "seconds": 0}),
        ("chat:filter", {"room": room, "words": ["私聊"]}),
        ("chat:settings", {"room": room}),
        ("chat:sanctions", {"room": room}),
        ("chat:modlog", {"room": room}),
    ]


async def test_every_moderator_event_is_refused_to_viewers_kocs_and_anonymous_and_works_for_staff(
    sqlite_url: str, aiohttp_server: Callable[..., Any], aiohttp_client: Callable[..., Any], peers: list[Peer]
) -> None:
    from server.realtime.chat_events import MODERATOR_EVENTS

    server = await start(aiohttp_server, sqlite_url, chat_rate_messages=50)
    target = await new_peer(server, aiohttp_client, nickname="目标")
    refused_peers = {
        "anonymous": await new_peer(server, aiohttp_client, None),
        "viewer": await new_peer(server, aiohttp_client),
        "koc": await new_peer(server, aiohttp_client, Role.KOC),
    }
    staff = {role.value: await new_peer(server, aiohttp_client, role) for role in (Role.MODERATOR, Role.HOST, Role.OPERATOR)}
    peers += [target, *refused_peers.values(), *staff.values()]
    for p in peers:
        await p.join()
    messages = [(await target.say(f"消息 {i}"))["message"]["id"] for i in range(2)]

    calls = _moderator_calls("farm", messages[0], target.user_id)
    assert {name for name, _ in calls} == set(MODERATOR_EVENTS), "every moderator event is tried"
    for who, peer in refused_peers.items():
        for name, payload in calls:
            reply = await peer.call(name, payload)
            assert reply.get("error") == "forbidden", (who, name, reply)
    history = (await target.join())["messages"]
    assert [m["id"] for m in history] == messages, "nothing a refused call asked for happened"
    assert (await target.say("还能说话"))["ok"]

    for role, peer in staff.items():
        fresh = (await target.say(f"{role} 来处理"))["message"]["id"]  # the last ban removed the rest
        for name, payload in _moderator_calls("farm", fresh, target.user_id):
            reply = await peer.call(name, payload)
            assert reply.get("ok") is True, (role, name, reply)
    entries = (await staff["moderator"].call("chat:modlog", {"room": "farm", "limit": 200}))["entries"]
    assert {e["actor_id"] for e in entries} == {p.user_id for p in staff.values()}
    assert len(entries) == 3 * 7, "every state-changing call is logged once"
