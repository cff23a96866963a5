"""The sign-in sheet in real Chromium: creating an account with a password (sign-up answers the
same for a taken phone/email, so the sheet signs in next), through the Origin check a real browser
meets."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from aiohttp.test_utils import TestServer

from server.app import create_app
from server.http.keys import ACCOUNTS
from tests.conftest import make_settings
from tests.helpers import add_room

from .conftest import PHONE, open_page

pytestmark = [pytest.mark.browser, pytest.mark.timeout(120)]


@pytest.fixture
async def server(sqlite_url: str, aiohttp_server: Callable[..., Any]) -> TestServer:
    srv: TestServer = await aiohttp_server(create_app(make_settings(sqlite_url)))
    await add_room(srv, "farm")  # type: ignore[arg-type]
    return srv


async def sign_up_in_sheet(page: Any, identifier: str, password: str) -> None:
    await page.click("#chat-signin")
    await page.click(".signin-sheet .sheet-tab:nth-child(2)")  # with a password
    await page.check("#signin-new")
    await page.fill("#signin-identifier", identifier)
    await page.fill("#signin-password", password)
    await page.fill("#signin-nickname", "小番茄")
    await page.click("#signin-submit")


async def test_a_new_account_from_the_sheet_is_signed_in_and_a_taken_one_is_not_told_apart(
    server: TestServer, browser: Any,
) -> None:
    await server.app[ACCOUNTS].register("taken@example.com", "the-owners-pass")
    page = await open_page(browser, str(server.make_url("/r/farm")), viewport=PHONE, locale="en-US")
    await page.click("#tab-chat")
    await sign_up_in_sheet(page, "taken@example.com", "someone-else-1")
    error = page.locator("#signin-error")
    await error.filter(has_text="sign in").wait_for(timeout=10000)
    assert "already exists" in (await error.text_content() or "")
    assert not await page.is_visible("#chat-input")
    await page.click(".signin-sheet .btn-quiet:has-text('Cancel')")

    await sign_up_in_sheet(page, "new@example.com", "tomato-2026")
    await page.wait_for_selector("#chat-input", state="visible", timeout=10000)
    assert await page.locator("dialog.signin-sheet").count() == 0
    me = await page.evaluate("fetch('/api/me').then(r => r.json())")
    assert me["user"]["identifier"] == "new@example.com" and me["user"]["nickname"] == "小番茄"
    assert page.errors == []
