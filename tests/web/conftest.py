"""Chromium for the browser tests: one launch per test, with the flags this machine needs."""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream",
    "--autoplay-policy=no-user-gesture-required",
]
PHONE = {"width": 390, "height": 844}


@pytest.fixture
async def browser(aiohttp_client: Callable[..., Any]) -> AsyncIterator[Any]:
    """A Chromium browser. No Chromium is a failure, not a skip: `make test` installs it, and the
    browser tests are the only check that the pages work.

    Asks for aiohttp_client first so Chromium closes before the test clients do: closing a
    TestClient stops the server, which would otherwise wait out the pages' open websockets."""
    from playwright.async_api import async_playwright

    if not Path(CHROMIUM).exists():
        pytest.fail("Chromium is not installed: run `make test` (scripts/setup.sh test installs it)")
    async with async_playwright() as pw:
        b = await pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield b
        await b.close()


async def open_page(browser: Any, url: str, *, viewport: dict[str, int] = PHONE, locale: str = "zh-CN") -> Any:
    """A page in a fresh context; `page.errors` collects the page's uncaught errors."""
    ctx = await browser.new_context(viewport=viewport, locale=locale)
    page = await ctx.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.errors = errors
    await page.goto(url)
    return page
