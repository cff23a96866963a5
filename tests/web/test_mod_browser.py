"""The moderator console in real Chromium against the real app, with viewer pages beside it.

A moderator signs in on the console and answers and pins a viewer's question, which the viewer page
highlights; a chat message removed from the console leaves the viewer page; timeouts, bans, slow
mode, blocked words and testimonials are worked from the console; a viewer who opens the console is
told they need the moderator role, and the events behind it refuse them too.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
from aiohttp.test_utils import TestServer

from server.app import create_app
from tests.conftest import make_settings
from tests.helpers import add_room
from tests.web.mod_world import HOSTILE, PASSWORD, Person, World, build_world

from .conftest import PHONE

pytestmark = [pytest.mark.browser, pytest.mark.timeout(150)]

DESKTOP = {"width": 1366, "height": 768}
TABLET = {"width": 1024, "height": 768}
READY = "window.fieldcastMod && window.fieldcastMod.state === 'ready'"
# Anything that ran injected markup would call alert (or open a dialog): count those calls.
NO_SCRIPT = "window.__alerts = 0; window.alert = () => { window.__alerts += 1; };"


@pytest.fixture
async def server(sqlite_url: str, aiohttp_server: Callable[..., Any]) -> TestServer:
    srv: TestServer = await aiohttp_server(create_app(make_settings(sqlite_url)))
    return srv


@pytest.fixture
async def quiet_world(server: TestServer, aiohttp_client: Callable[..., Any]) -> AsyncIterator[World]:
    """The farm room with a moderator and two viewers, nothing said yet."""
    world = await build_world(server, aiohttp_client, full=False)
    yield world
    await world.close()


@pytest.fixture
async def busy_world(server: TestServer, aiohttp_client: Callable[..., Any]) -> AsyncIterator[World]:
    """The farm room mid-show: chat, questions with votes, pending reviews with photos, a timeout."""
    world = await build_world(server, aiohttp_client, full=True)
    yield world
    await world.close()


async def open_page(
    browser: Any, server: TestServer, path: str, *, who: Person | None = None,
    viewport: dict[str, int] = DESKTOP, locale: str = "zh-CN",
) -> Any:
    ctx = await browser.new_context(viewport=viewport, locale=locale)
    await ctx.add_init_script(NO_SCRIPT)
    if who is not None:
        jar = who.http.session.cookie_jar.filter_cookies(who.http.make_url("/api/"))
        base = str(server.make_url("/"))
        await ctx.add_cookies([{"name": k, "value": m.value, "url": base} for k, m in jar.items()])
    page = await ctx.new_page()
    problems: list[str] = []
    page.on("pageerror", lambda e: problems.append(str(e)))
    page.on("dialog", lambda d: problems.append(f"dialog: {d.message}"))
    page.problems = problems
    await page.goto(str(server.make_url(path)))
    return page


async def no_injection(page: Any) -> None:
    assert await page.evaluate("window.__alerts") == 0
    assert await page.locator("#workspace img[src='x'], #workspace img:not([src^='/media/'])").count() == 0
    assert page.problems == []


async def test_moderator_signs_in_answers_and_pins_a_question_and_the_viewer_page_highlights_it(
    server: TestServer, browser: Any, quiet_world: World
) -> None:
    room, asker = quiet_world.room, quiet_world.viewers[0]
    question = await asker.ask(room, HOSTILE + " 番茄什么时候发货？")
    viewer = await open_page(browser, server, f"/r/{room}", viewport=PHONE)
    await viewer.click("#tab-qa")
    await viewer.wait_for_selector("#qa-list .qa-q", timeout=15000)
    assert not await viewer.is_visible("#qa-pinned")

    console = await open_page(browser, server, f"/mod/{room}")
    await console.wait_for_function("window.fieldcastMod.state === 'signin'", timeout=15000)
    assert await console.text_content("#gate-title") == "请先登录"
    assert await console.is_hidden("#workspace")
    await console.click("#gate-signin")
    await console.click(".signin-sheet .sheet-tab:nth-child(2)")  # with a password
    await console.fill("#signin-identifier", quiet_world.moderator.identifier)
    await console.fill("#signin-password", PASSWORD)
    await console.click("#signin-submit")
    await console.wait_for_function(READY, timeout=15000)
    assert await console.text_content("#me-name") == "审核员小林"
    assert await console.get_attribute("#viewer-link", "href") == f"/r/{room}"

    card = console.locator(f"#qa-list .q[data-id='{question['id']}']")
    await card.wait_for(timeout=10000)
    assert (await card.locator(".q-text").text_content()) == question["text"], "the question is shown as text"
    answer = "明天上午顺丰冷链发出 <b>坏果包赔</b> 🍅"
    await card.locator("textarea").fill(answer)
    await card.locator(".q-send-pin").click()

    await console.wait_for_selector("#qa-pinned:not([hidden])", timeout=10000)
    assert await console.text_content("#qa-pinned .pinned-a") == answer
    await console.click("#qa-filter-answered")
    pinned_card = console.locator(f"#qa-list .q[data-id='{question['id']}']")
    assert await pinned_card.get_attribute("class") == "q is-pinned"
    assert await pinned_card.locator(".q-answer p").text_content() == answer

    await viewer.wait_for_selector("#qa-pinned", state="visible", timeout=10000)
    assert await viewer.text_content("#qa-pinned-a") == answer
    assert question["text"] in (await viewer.text_content("#qa-pinned-q") or "")

    # Unpinning from the console takes the highlight off the viewer page.
    await console.click("#qa-unpin")
    await console.wait_for_selector("#qa-pinned", state="hidden", timeout=10000)
    await viewer.wait_for_selector("#qa-pinned", state="hidden", timeout=10000)
    await no_injection(console)
    assert await viewer.evaluate("window.__alerts") == 0


async def test_a_chat_message_removed_in_the_console_leaves_the_viewer_page(
    server: TestServer, browser: Any, quiet_world: World
) -> None:
    room = quiet_world.room
    chatter, other = quiet_world.viewers
    console = await open_page(browser, server, f"/mod/{room}", who=quiet_world.moderator)
    await console.wait_for_function(READY, timeout=15000)
    viewer = await open_page(browser, server, f"/r/{room}", viewport=PHONE)
    await viewer.click("#tab-chat")

    spam = await chatter.say(room, "加微信 tomato888 " + HOSTILE)
    fine = await other.say(room, "今天的番茄真新鲜 🍅")
    rude = await chatter.say(room, "你们都是骗子")
    for m in (spam, fine, rude):
        await viewer.wait_for_selector(f".chat-msg[data-id='{m['id']}']", timeout=10000)
        await console.wait_for_selector(f"#mod-chat-list li[data-id='{m['id']}']", timeout=10000)
    row = console.locator(f"#mod-chat-list li[data-id='{spam['id']}']")
    assert await row.locator(".msg-text").text_content() == spam["text"]

    # With the mouse: hover, remove, give a reason.
    await row.hover()
    await row.locator("button[data-act=remove]").click()
    await console.wait_for_selector("#mod-dialog", timeout=5000)
    assert await console.text_content("#mod-dialog blockquote") == spam["text"]
    await console.click("#mod-dialog .mod-chip >> nth=0")  # 广告引流
    await console.click("#mod-dialog-confirm")
    await viewer.wait_for_selector(f".chat-msg[data-id='{spam['id']}']", state="detached", timeout=10000)
    await console.wait_for_selector(f"#mod-chat-list li.removed[data-id='{spam['id']}']", timeout=10000)
    assert await viewer.is_visible(f".chat-msg[data-id='{fine['id']}']"), "only that message goes"

    # From the keyboard: focus the row, Delete, Enter.
    await console.focus(f"#mod-chat-list li[data-id='{rude['id']}']")
    await console.keyboard.press("Delete")
    await console.wait_for_selector("#mod-dialog", timeout=5000)
    await console.keyboard.type("辱骂")
    await console.keyboard.press("Enter")
    await viewer.wait_for_selector(f".chat-msg[data-id='{rude['id']}']", state="detached", timeout=10000)

    # The moderation log (third column on a desktop) says who removed what, and why.
    await console.click("#tab-log")
    entry = console.locator("#log-list .log-entry[data-action=remove]", has_text="广告引流")
    await entry.wait_for(timeout=10000)
    text = await entry.text_content()
    assert "审核员小林" in text and chatter.nickname in text and spam["text"] in text
    await console.wait_for_function(
        "document.querySelectorAll('#log-list .log-entry[data-action=remove]').length === 2", timeout=10000
    )
    await no_injection(console)
    assert await viewer.evaluate("window.__alerts") == 0


async def test_timeouts_bans_slow_mode_and_blocked_words_from_the_console(
    server: TestServer, browser: Any, quiet_world: World
) -> None:
    room = quiet_world.room
    noisy, calm = quiet_world.viewers
    console = await open_page(browser, server, f"/mod/{room}", who=quiet_world.moderator, viewport=TABLET, locale="en-US")
    await console.wait_for_function(READY, timeout=15000)
    assert await console.text_content("#tab-chat .dock-tab-label") == "Chat"
    message = await noisy.say(room, "BUY NOW!!! 🍅🍅🍅")
    row = console.locator(f"#mod-chat-list li[data-id='{message['id']}']")
    await row.wait_for(timeout=10000)

    await row.hover()
    await row.locator("button[data-act=timeout][data-minutes='5']").click()
    await console.click("#mod-dialog .mod-seg-item >> nth=2")  # change our mind: 60 minutes
    await console.fill("#mod-reason", "Flooding")
    await console.click("#mod-dialog-confirm")
    await console.wait_for_selector(f"#mod-chat-list li[data-id='{message['id']}'] .tag-warn", timeout=10000)
    refused = await noisy.call("chat:send", {"room": room, "text": "again"})
    assert refused["error"] == "timed_out" and refused["retry_after"] > 59 * 60

    await console.click("#sanctions summary")
    item = console.locator("#sanctions .sanction", has_text=noisy.nickname)
    await item.wait_for(timeout=10000)
    assert "Flooding" in (await item.text_content() or "")
    await item.locator("button").click()
    await console.wait_for_selector("#sanctions .sanction", state="detached", timeout=10000)
    assert (await noisy.call("chat:send", {"room": room, "text": "sorry"})).get("ok")

    # Slow mode: everyone's pages hear it; the select follows.
    await console.select_option("#slow-mode", "30")
    await console.locator(".mod-toast", has_text="Slow mode on").wait_for(timeout=10000)
    refused = await calm.call("chat:send", {"room": room, "text": "one"})
    assert refused.get("ok") or refused.get("error") == "slow_mode"
    assert (await calm.call("chat:send", {"room": room, "text": "two"}))["error"] == "slow_mode"
    await console.select_option("#slow-mode", "0")
    await console.locator(".mod-toast", has_text="Slow mode off").wait_for(timeout=10000)

    # Blocked words: one per line; a message with one is stopped.
    await console.click("#filter-edit")
    await console.fill("#filter-words", "骗子\n  \nwechat\n" + HOSTILE)
    await console.click("#filter-save")
    await console.wait_for_selector("#filter-dialog", state="detached", timeout=5000)
    assert await console.text_content("#filter-edit .count") == "3"
    assert (await calm.call("chat:send", {"room": room, "text": "add my WeChat"}))["error"] == "blocked_word"

    # A ban removes the person's messages and shows in the log.
    await row.hover()
    await row.locator("button[data-act=ban]").click()
    await console.click("#mod-dialog-confirm")
    await console.wait_for_selector(f"#mod-chat-list li.removed[data-id='{message['id']}']", timeout=10000)
    await console.click("#tab-log")
    for action in ("ban", "unban", "timeout", "slow_mode", "filter"):
        await console.wait_for_selector(f"#log-list .log-entry[data-action={action}]", timeout=10000)
    first = await console.locator("#log-list .log-entry").first.get_attribute("data-action")
    assert first == "ban", "newest first"
    await no_injection(console)


async def test_testimonials_are_approved_or_rejected_with_a_reason(
    server: TestServer, browser: Any, busy_world: World
) -> None:
    room = busy_world.room
    console = await open_page(browser, server, f"/mod/{room}", who=busy_world.moderator)
    await console.wait_for_function(READY, timeout=15000)
    cards = console.locator("#rv-list .rv")
    await cards.first.wait_for(timeout=10000)
    assert await cards.count() == 3
    assert await console.text_content("#tab-reviews .count") == "3"
    first, second, third = busy_world.reviews
    card = console.locator(f"#rv-list .rv[data-id='{first['id']}']")
    assert "订单 #" in (await card.locator(".rv-order").text_content() or "")
    assert await card.locator(".rv-photo img").count() == 2
    # Pending photos are for moderators only, and these load.
    await console.wait_for_function(
        "[...document.querySelectorAll('#rv-list .rv-photo img')].every((i) => i.complete && i.naturalWidth > 0)",
        timeout=10000,
    )
    assert await console.locator(f"#rv-list .rv[data-id='{second['id']}'] .rv-text").text_content() == second["text"]

    await card.locator("button[data-act=approve]").click()
    await console.wait_for_selector(f"#rv-list .rv[data-id='{first['id']}']", state="detached", timeout=10000)
    wall = await (await busy_world.viewers[0].http.get(f"/api/rooms/{room}/reviews")).json()
    assert [r["id"] for r in wall["reviews"]] == [first["id"]]

    # Rejecting needs a reason: an empty one is refused in the sheet, before the server.
    await console.locator(f"#rv-list .rv[data-id='{third['id']}'] button[data-act=reject]").click()
    await console.click("#mod-dialog-confirm")
    assert await console.text_content("#mod-dialog .mod-dialog-error") == "请填写理由"
    await console.fill("#mod-reason", "照片不清晰，请补拍")
    await console.click("#mod-dialog-confirm")
    await console.wait_for_selector(f"#rv-list .rv[data-id='{third['id']}']", state="detached", timeout=10000)
    await console.click("#rv-filter-rejected")
    rejected = console.locator(f"#rv-list .rv[data-id='{third['id']}']")
    await rejected.wait_for(timeout=10000)
    assert "照片不清晰，请补拍" in (await rejected.locator(".rv-reason").text_content() or "")
    assert await console.text_content("#tab-reviews .count") == "1"
    await no_injection(console)


async def test_the_console_lays_out_busy_rooms_for_desktops_and_tablets_in_both_languages(
    server: TestServer, browser: Any, busy_world: World
) -> None:
    room = busy_world.room
    for viewport, columns in ((DESKTOP, 3), (TABLET, 2), (PHONE, 1)):
        page = await open_page(browser, server, f"/mod/{room}", who=busy_world.moderator, viewport=viewport)
        await page.wait_for_function(READY, timeout=15000)
        assert await page.get_attribute("#workspace", "data-columns") == str(columns)
        # Nothing spills sideways: long unbroken text and RTL wrap inside their columns.
        width = await page.evaluate("document.documentElement.scrollWidth")
        assert width <= viewport["width"]
        for sel in ("#mod-chat-list", "#qa-list", "#rv-list"):
            overflow = await page.evaluate(
                "(s) => { const e = document.querySelector(s); return e ? e.scrollWidth - e.clientWidth : 0; }", sel
            )
            assert overflow <= 1, f"{sel} overflows by {overflow}px at {viewport}"
        # The questions queue is sorted by votes, then age.
        if columns < 3:
            await page.click("#tab-questions")
        votes = [int(v) for v in await page.locator("#qa-list .q-votes strong").all_text_contents()]
        assert votes == sorted(votes, reverse=True) and votes[0] == 4
        await page.click("#lang")
        assert await page.text_content("#tab-questions .dock-tab-label") == "Questions"
        assert await page.text_content("#qa-filter-open span") == "Open"
        await page.click("#lang")
        await no_injection(page)
        await page.context.close()


async def test_viewers_get_the_moderator_role_state_and_the_events_refuse_them(
    server: TestServer, browser: Any, quiet_world: World
) -> None:
    room, viewer = quiet_world.room, quiet_world.viewers[0]
    page = await open_page(browser, server, f"/mod/{room}", who=viewer, locale="en-US")
    await page.wait_for_function("window.fieldcastMod.state === 'forbidden'", timeout=15000)
    assert await page.text_content("#gate-title") == "You need the moderator role"
    assert viewer.nickname in (await page.text_content("#gate-text") or "")
    assert await page.is_hidden("#workspace") and await page.is_visible("#gate-switch")
    # The data behind the page is refused to this account whatever a page does.
    replies = await page.evaluate(
        """async (room) => {
          const s = window.io({ path: '/socket.io/', transports: ['websocket'] });
          const ask = (e, p) => new Promise((r) => s.timeout(5000).emit(e, p, (err, a) => r(err ? 'timeout' : a.error)));
          await new Promise((r) => s.on('connect', r));
          const out = [await ask('chat:modlog', { room }), await ask('chat:settings', { room }),
                       await ask('qa:list', { room, status: 'hidden' }), await ask('reviews:queue', { room })];
          s.disconnect();
          return out;
        }""",
        room,
    )
    assert replies == ["forbidden"] * 4

    anonymous = await open_page(browser, server, f"/mod/{room}", locale="en-US")
    await anonymous.wait_for_function("window.fieldcastMod.state === 'signin'", timeout=15000)
    assert await anonymous.text_content("#gate-title") == "Sign in to moderate"

    missing = await open_page(browser, server, "/mod/no-such-room")
    await missing.wait_for_function("window.fieldcastMod.state === 'not_found'", timeout=15000)
    assert await missing.text_content("#gate-title") == "直播间不存在"
    resp = await quiet_world.viewers[1].http.get("/mod/no-such-room")
    assert resp.status == 404
    assert page.problems == [] and anonymous.problems == [] and missing.problems == []


async def test_a_moderator_of_another_room_gets_the_gate_and_the_console_of_their_own_room(
    server: TestServer, browser: Any, quiet_world: World
) -> None:
    # Grants are per room: the world's moderator moderates farm only.
    await add_room(server, "orchard")  # type: ignore[arg-type]
    mod = quiet_world.moderator
    other = await open_page(browser, server, "/mod/orchard", who=mod, locale="en-US")
    await other.wait_for_function("window.fieldcastMod.state === 'forbidden'", timeout=15000)
    assert await other.text_content("#gate-title") == "You need the moderator role"
    assert "this room" in (await other.text_content("#gate-text") or "")
    own = await open_page(browser, server, f"/mod/{quiet_world.room}", who=mod, locale="en-US")
    await own.wait_for_function(READY, timeout=15000)
    assert await own.is_visible("#workspace")
    assert other.problems == [] and own.problems == []
    await other.context.close()
    await own.context.close()
