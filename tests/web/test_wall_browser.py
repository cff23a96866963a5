"""The testimonial wall in real Chromium: approved reviews with their photos, hostile words shown as
words, and approvals and take-downs arriving live while the page is open."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from server.app import create_app
from server.domain.accounts.roles import Role
from tests.commerce import Shop, csrf, make_shop
from tests.conftest import make_settings
from tests.reviews import account, jpeg, received_order, review_form

from .conftest import PHONE

pytestmark = [pytest.mark.browser, pytest.mark.timeout(120)]

HOSTILE = "<img src=x onerror=alert(1)>番茄沙沙的 <b>真甜</b> 🍅"


@pytest.fixture
async def shop(tmp_path: Path, aiohttp_client: Callable[..., Any]) -> Shop:
    client: TestClient[Any, Any] = await aiohttp_client(
        create_app(make_settings(f"sqlite:///{tmp_path}/fieldcast.db", media_dir=tmp_path / "media"))
    )
    return await make_shop(client)


async def review(shop: Shop, text: str, photos: int = 0) -> int:
    buyer = await account(shop, Role.VIEWER, "buyer")
    order_id = await received_order(shop, buyer)
    files = [(f"p{i}.jpg", jpeg((220, 40, 40)), "image/jpeg") for i in range(photos)]
    resp = await shop.client.post("/api/reviews", data=review_form(order_id, 4, text, files),
                                  headers=await csrf(shop.client, buyer))
    assert resp.status == 201, await resp.text()
    return int((await resp.json())["review"]["id"])


async def decide(shop: Shop, review_id: int, verdict: str) -> None:
    body = {"reason": "与商品无关"} if verdict == "reject" else None
    await shop.call("POST", f"/api/reviews/{review_id}/{verdict}", body, status=200)


async def test_the_wall_shows_reviews_as_text_and_follows_approvals_live(shop: Shop, browser: Any) -> None:
    first = await review(shop, HOSTILE, photos=2)
    await decide(shop, first, "approve")

    ctx = await browser.new_context(viewport=PHONE, locale="zh-CN")
    await ctx.add_init_script("window.__alerts = 0; window.alert = () => { window.__alerts += 1; };")
    page = await ctx.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    await page.goto(str(shop.client.make_url(f"/r/{shop.room}")))
    await page.click("#tab-wall")
    await page.wait_for_selector("#wall-list .wall-item")

    item = page.locator("#wall-list .wall-item").first
    assert await item.locator(".wall-text").text_content() == HOSTILE
    assert await item.locator(".wall-verified").text_content() == "✓ 已购"
    assert await item.locator(".wall-stars").get_attribute("aria-label") == "4 星"
    assert await page.evaluate("document.querySelectorAll('#wall-panel b, #wall-panel img[src=\"x\"]').length") == 0
    # The buyer's photos load from the server's own addresses.
    await page.wait_for_function(
        "Array.from(document.querySelectorAll('.wall-photo img')).filter(i => i.naturalWidth > 0).length === 2"
    )
    await page.locator(".wall-photo").first.click()
    assert await page.is_visible("#wall-viewer")
    await page.wait_for_function("document.querySelector('.wall-large').naturalWidth > 0")
    assert (await page.get_attribute(".wall-large", "src") or "").endswith("-1080.jpg")
    await page.keyboard.press("Escape")
    assert not await page.is_visible("#wall-viewer")

    # Approved while the page is open: it appears at the top; a pending one never shows.
    second = await review(shop, "冷链到家还是凉的")
    pending = await review(shop, "还没审核的评价")
    await decide(shop, second, "approve")
    await page.wait_for_function("document.querySelectorAll('#wall-list .wall-item').length === 2")
    assert await page.locator("#wall-list .wall-item .wall-text").first.text_content() == "冷链到家还是凉的"
    assert "2 条已购买家的真实好评" in (await page.text_content("#wall-summary") or "")

    # While another panel is open, a new one marks the tab; opening it clears the mark.
    await page.click("#tab-chat")
    await decide(shop, pending, "approve")
    await page.wait_for_function("document.getElementById('tab-wall').dataset.dot === 'new'")
    await page.click("#tab-wall")
    assert await page.get_attribute("#tab-wall", "data-dot") is None

    # Taken down: gone from the wall at once.
    await decide(shop, first, "reject")
    await page.wait_for_function("document.querySelectorAll('#wall-list .wall-item').length === 2")
    assert HOSTILE not in (await page.text_content("#wall-list") or "")

    await page.click("#lang")
    assert await page.text_content("#tab-wall span") == "Reviews"
    assert await page.locator(".wall-verified").first.text_content() == "✓ Verified buyer"
    assert await page.evaluate("window.__alerts") == 0
    assert errors == []
    await ctx.close()
