"""The Q&A panel in real Chromium: a viewer asks, a moderator answers and pins, the page highlights it.

The moderator console is another page; here the moderator is a real Socket.IO client signed in with
its own session cookie, driving the same events the console sends.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import aiohttp
import pytest
import socketio
from aiohttp.test_utils import TestServer

from server.app import create_app
from server.domain.accounts.roles import Role
from tests.conftest import make_settings
from tests.helpers import add_room, staff_account

from .conftest import PHONE

pytestmark = [pytest.mark.browser, pytest.mark.timeout(120)]

HOSTILE = "<img src=x onerror=alert(1)>番茄什么时候发货？"
ANSWER = "今天下单明天顺丰冷链发出 <b>坏果包赔</b> 🍅"


@pytest.fixture
async def server(sqlite_url: str, aiohttp_server: Callable[..., Any]) -> TestServer:
    srv: TestServer = await aiohttp_server(create_app(make_settings(sqlite_url)))
    await add_room(srv, "farm")
    return srv


@pytest.fixture
async def moderator(server: TestServer) -> AsyncIterator[socketio.AsyncClient]:
    """A moderator's Socket.IO connection, signed in over HTTP like the console would be."""
    await staff_account(server.app, "mod@example.com", "moderate-2026", "场控", Role.MODERATOR, ("farm",))
    async with aiohttp.ClientSession() as http:
        resp = await http.post(server.make_url("/api/auth/login"), json={"identifier": "mod@example.com", "password": "moderate-2026"})
        assert resp.status == 200
        cookie = resp.cookies["fc_session"].value
    sio = socketio.AsyncClient()
    await sio.connect(
        str(server.make_url("/")), headers={"Cookie": f"fc_session={cookie}"}, transports=["websocket"], wait_timeout=15
    )
    yield sio
    await sio.disconnect()


async def open_viewer(browser: Any, server: TestServer, *, sign_up: str | None = None) -> Any:
    ctx = await browser.new_context(viewport=PHONE, locale="zh-CN")
    # Anything that runs injected script would call alert: count the calls.
    await ctx.add_init_script("window.__alerts = 0; window.alert = () => { window.__alerts += 1; };")
    if sign_up:
        resp = await ctx.request.post(
            str(server.make_url("/api/auth/register")),
            data={"identifier": sign_up, "password": "tomato-2026", "nickname": "小番茄"},
        )
        assert resp.status == 202, await resp.text()
        resp = await ctx.request.post(
            str(server.make_url("/api/auth/login")), data={"identifier": sign_up, "password": "tomato-2026"}
        )
        assert resp.status == 200, await resp.text()
    page = await ctx.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.errors = errors
    await page.goto(str(server.make_url("/r/farm")))
    return page


async def test_a_pinned_answer_is_highlighted_on_viewer_pages(
    server: TestServer, browser: Any, moderator: socketio.AsyncClient
) -> None:
    asker = await open_viewer(browser, server, sign_up="13800138000")
    watcher = await open_viewer(browser, server)  # anonymous, Q&A tab closed

    # The signed-in viewer asks from the Q&A tab.
    await asker.click("#tab-qa")
    await asker.wait_for_selector("#qa-input", state="visible", timeout=15000)
    await asker.fill("#qa-input", HOSTILE)
    await asker.click("#qa-ask")
    item = asker.locator("#qa-list .qa-q", has_text="番茄什么时候发货")
    await item.wait_for(timeout=10000)
    assert await item.text_content() == HOSTILE, "the question shows as the text typed"
    assert await asker.input_value("#qa-input") == ""
    assert await asker.locator("#qa-list .qa-tag-mine").count() == 1
    assert await asker.locator("#qa-list .qa-vote").first.is_disabled(), "no upvoting your own question"

    listed = await moderator.call("qa:list", {"room": "farm", "status": "open"}, timeout=10)
    (question,) = listed["questions"]
    assert question["text"] == HOSTILE
    reply = await moderator.call("qa:answer", {"question_id": question["id"], "text": ANSWER, "pin": True}, timeout=10)
    assert reply.get("ok"), reply

    # The asker's page: the highlight at the top of the panel, and a notice that they were answered.
    await asker.wait_for_selector("#qa-pinned", state="visible", timeout=10000)
    assert await asker.text_content("#qa-pinned-a") == ANSWER
    assert HOSTILE in (await asker.text_content("#qa-pinned-q") or "")
    assert "你的问题有回答了" in (await asker.text_content(".qa-toast") or "")
    assert await asker.locator("#qa-list .qa-tag-answered").count() == 1
    highlight = await asker.locator("#qa-pinned").bounding_box()
    first = await asker.locator("#qa-list .qa-item").first.bounding_box()
    assert highlight["y"] < first["y"], "the pinned answer sits above the queue"

    # Another viewer, signed out, with the panel closed: the tab says something is pinned.
    await watcher.wait_for_selector("#tab-qa[data-dot]", timeout=10000)
    await watcher.click("#tab-qa")
    assert await watcher.is_visible("#qa-pinned")
    assert await watcher.text_content("#qa-pinned-a") == ANSWER
    assert await watcher.is_visible("#qa-signin"), "signed out: a sign-in prompt instead of the ask box"
    assert not await watcher.is_visible("#qa-input")
    assert await watcher.get_attribute("#tab-qa", "data-dot") is None

    # Markup in what people wrote stays text everywhere.
    for page in (asker, watcher):
        assert await page.evaluate("document.querySelectorAll('#qa-panel img, #qa-panel b').length") == 0
        assert await page.evaluate("window.__alerts") == 0

    assert (await moderator.call("qa:unpin", {"room": "farm"}, timeout=10))["ok"]
    for page in (asker, watcher):
        await page.wait_for_selector("#qa-pinned", state="hidden", timeout=10000)
    await watcher.click("#lang")
    assert await watcher.text_content("#qa-signin") == "Sign in"
    assert asker.errors == [] and watcher.errors == []
