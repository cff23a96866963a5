"""The viewer page's chat in real Chromium against the real app: read, sign in, send, get moderated."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import pytest
import socketio
from aiohttp.test_utils import TestServer

from server.app import create_app
from server.domain.accounts.roles import Role
from server.http.keys import ACCOUNTS
from tests.conftest import make_settings
from tests.helpers import add_room, staff_account

from .conftest import PHONE, open_page

pytestmark = [pytest.mark.browser, pytest.mark.timeout(120)]

XSS = "<img src=x onerror=\"window.__pwned=1\">"


@pytest.fixture
async def server(sqlite_url: str, aiohttp_server: Callable[..., Any]) -> TestServer:
    srv: TestServer = await aiohttp_server(create_app(make_settings(sqlite_url, login_codes_to_log=True)))
    await add_room(srv, "farm")  # type: ignore[arg-type]
    return srv




async def staff_socket(server: TestServer, aiohttp_client: Callable[..., Any]) -> socketio.AsyncClient:
    await staff_account(server.app, "mod@example.com", "moderate-me", "管理员", Role.MODERATOR, ("farm",))
    http = await aiohttp_client(server)
    resp = await http.post("/api/auth/login", json={"identifier": "mod@example.com", "password": "moderate-me"})
    assert resp.status == 200
    cookie = http.session.cookie_jar.filter_cookies(http.make_url("/"))["fc_session"].value
    sio = socketio.AsyncClient(reconnection=False)
    await sio.connect(str(server.make_url("/")), headers={"Cookie": f"fc_session={cookie}"}, transports=["websocket"])
    assert (await sio.call("chat:join", {"room": "farm"}))["ok"]
    return sio


async def test_viewer_reads_signs_in_with_a_code_chats_and_is_moderated(
    server: TestServer, browser: Any, aiohttp_client: Callable[..., Any]
) -> None:
    mod = await staff_socket(server, aiohttp_client)
    try:
        for text in ("欢迎来到青禾农场 🍅", XSS, "مرحبا"):
            assert (await mod.call("chat:send", {"room": "farm", "text": text}))["ok"]

        page = await open_page(browser, str(server.make_url("/r/farm")), viewport=PHONE)
        await page.click("#tab-chat")
        await page.wait_for_selector(".chat-msg >> nth=2", timeout=15000)
        texts = await page.locator(".chat-text").all_text_contents()
        assert texts == ["欢迎来到青禾农场 🍅", XSS, "مرحبا"]
        assert await page.locator(".chat-list img").count() == 0, "a message is text, never markup"
        assert await page.evaluate("window.__pwned") is None
        assert await page.locator(".chat-badge").first.text_content() == "管理员"
        assert await page.is_visible("#chat-signin") and not await page.is_visible("#chat-input")

        # Sign in with a one-time code (which makes the account), right from the chat panel.
        codes: list[str] = []
        server.app[ACCOUNTS].on_code = lambda ident, code: codes.append(code)
        await page.click("#chat-signin")
        await page.fill("#signin-identifier", "13700137000")
        await page.click("#signin-getcode")
        # The button is disabled as the request leaves; the code exists once the server answered.
        for _ in range(100):
            if codes:
                break
            await asyncio.sleep(0.05)
        assert len(codes) == 1
        await page.fill("#signin-code", codes[0])
        await page.click("#signin-submit")
        await page.wait_for_selector("#chat-input", state="visible", timeout=10000)
        assert await page.locator("dialog.signin-sheet").count() == 0

        await page.fill("#chat-input", "我要两箱番茄 <b>现在</b>")
        await page.click("#chat-send")
        mine = page.locator(".chat-mine .chat-text")
        await mine.wait_for(timeout=10000)
        assert await mine.text_content() == "我要两箱番茄 <b>现在</b>"
        assert await page.locator(".chat-mine .chat-nick").text_content() == "用户7000"
        message_id = int(await page.locator(".chat-mine").get_attribute("data-id"))

        # The moderator removes it: gone from the page at once.
        assert (await mod.call("chat:remove", {"room": "farm", "id": message_id}))["ok"]
        await page.wait_for_selector(".chat-mine", state="detached", timeout=5000)

        # Slow mode: the notice appears, and a second message is refused with a toast.
        assert (await mod.call("chat:slow_mode", {"room": "farm", "seconds": 30}))["ok"]
        await page.wait_for_selector(".chat-notice:has-text('慢速模式')", timeout=5000)
        await page.fill("#chat-input", "第一条")
        await page.click("#chat-send")
        await page.wait_for_selector(".chat-mine", timeout=5000)
        await page.fill("#chat-input", "第二条")
        await page.press("#chat-input", "Enter")
        toast = page.locator(".chat-toast")
        await toast.wait_for(state="visible", timeout=5000)
        assert "慢速模式已开启" in (await toast.text_content() or "")
        assert await page.input_value("#chat-input") == "第二条", "a refused message stays in the box"
        assert await page.is_disabled("#chat-send")

        # Banned: told so, and the page says it.
        mine_id = int(await page.locator(".chat-mine").get_attribute("data-id"))
        assert (await mod.call("chat:ban", {"room": "farm", "message_id": mine_id}))["ok"]
        await page.wait_for_selector(".chat-notice:has-text('你已被禁言')", timeout=5000)
        await page.wait_for_selector(".chat-mine", state="detached", timeout=5000)
        assert page.errors == []
    finally:
        await mod.disconnect()
