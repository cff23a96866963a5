"""The shop panel in real Chromium: my community's group-buy progress updates live when a
neighbour orders, and buying takes two taps (购买, then 提交订单) without leaving the video."""

from __future__ import annotations

import os
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from server.app import create_app
from tests.commerce import HOSTILE, Shop, csrf, key, make_buyers, make_shop, pickup
from tests.conftest import make_settings

from .conftest import PHONE

pytestmark = [pytest.mark.browser, pytest.mark.timeout(120)]


@pytest.fixture
async def shop(sqlite_url: str, aiohttp_client: Callable[..., Any]) -> Shop:
    client = await aiohttp_client(create_app(make_settings(sqlite_url)))
    shop = await make_shop(client)
    await shop.call("POST", f"/api/sessions/{shop.session['id']}/group-buys", {
        "product_id": shop.product["id"], "community_ids": [shop.community["id"]],
        "tiers": [{"buyers": 3, "discount_fen": 100}], "deadline": (datetime.now(UTC) + timedelta(hours=1)).isoformat()},
        status=201)
    return shop


async def test_community_progress_updates_live_and_buying_takes_two_taps(shop: Shop, browser: Any) -> None:
    me, neighbour = await make_buyers(shop.client, 2, shop.community["id"])
    base = str(shop.client.make_url("/"))
    ctx = await browser.new_context(viewport=PHONE, locale="zh-CN")
    await ctx.add_cookies([{"name": "fc_session", "value": me.cookie, "url": base}])
    page = await ctx.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    await page.goto(str(shop.client.make_url(f"/r/{shop.room}")))
    await page.click("#tab-shop")
    progress = page.locator("#shop-progress .shop-gb-text")
    await progress.wait_for(timeout=15000)
    assert await progress.text_content() == "阳光花园 已有0位邻居下单 再差3位成团"
    assert await page.locator("#shop-community-select").input_value() == str(shop.community["id"])

    # A neighbour orders from their own phone: the page follows without a reload.
    resp = await shop.client.post("/api/orders", headers=await csrf(shop.client, neighbour), json={
        "room_id": shop.room, "product_id": shop.product["id"], "quantity": 1, "delivery": pickup(shop), "idempotency_key": key()})
    assert resp.status == 201
    await page.wait_for_function(
        "document.querySelector('#shop-progress .shop-gb-text').textContent === '阳光花园 已有1位邻居下单 再差2位成团'",
        timeout=3000)

    # Two taps: 购买 opens the sheet with everything filled but the contact (typed once, then
    # remembered); 提交订单 places the order. The server's price lines are shown as text.
    await page.click("#shop-products .shop-buy")
    await page.wait_for_selector("#shop-sheet #shop-lines li")
    await page.fill("#shop-name", HOSTILE[0])
    await page.fill("#shop-phone", "13912345678")
    await page.click("#shop-submit")
    await page.wait_for_function("document.querySelector('#shop-orders .shop-order') !== null", timeout=5000)
    head = await page.text_content("#shop-orders .shop-order-head")
    assert head is not None and "高山有机番茄 × 1" in head and "待付款" in head
    await page.wait_for_function(
        "document.querySelector('#shop-progress .shop-gb-text').textContent === '阳光花园 已有2位邻居下单 再差1位成团'",
        timeout=3000)
    assert await page.locator("img[src='x']").count() == 0  # hostile text stayed text
    orders = await (await shop.client.get("/api/orders/mine", headers=me.headers)).json()
    assert orders[0]["contact_name"] == HOSTILE[0][:24]

    # The second order on the same phone: two taps, the contact is remembered.
    await page.click("#shop-products .shop-buy")
    await page.wait_for_selector("#shop-sheet #shop-lines li")
    assert await page.input_value("#shop-phone") == "13912345678"
    await page.click("#shop-submit")
    await page.wait_for_function("document.querySelectorAll('#shop-orders .shop-order').length === 2", timeout=5000)
    if shot := os.environ.get("FIELDCAST_SAVE_OVERLAYS"):
        await page.screenshot(path=str(Path(shot) / "shop-panel.png"))
    assert not errors, errors
    await ctx.close()


async def test_the_host_explains_a_product_from_the_studio_and_viewers_see_it(shop: Shop, browser: Any) -> None:
    """讲解 in the studio pins the product with the room's stream key: the viewer's page shows it
    at once; 取消讲解 takes it off. A wrong key is said plainly and changes nothing."""
    second = await shop.call("POST", "/api/products", {
        "name_zh": "土鸡蛋 30枚", "name_en": "Free-range eggs, 30", "gtin": "6901234567908", "unit": "盒",
        "price_fen": 3990, "stock": 80}, status=201)
    await shop.call("POST", f"/api/sessions/{shop.session['id']}/products", {"product_ids": [second["id"]]}, status=200)
    viewer_ctx = await browser.new_context(viewport=PHONE, locale="zh-CN")
    viewer = await viewer_ctx.new_page()
    await viewer.goto(str(shop.client.make_url(f"/r/{shop.room}")))
    await viewer.click("#tab-shop")
    await viewer.locator("#shop-products").wait_for(timeout=15000)

    ctx = await browser.new_context(viewport={"width": 1366, "height": 900}, locale="zh-CN")
    studio = await ctx.new_page()
    errors: list[str] = []
    studio.on("pageerror", lambda e: errors.append(str(e)))
    await studio.goto(str(shop.client.make_url(f"/studio/{shop.room}#key={shop.stream_key}")))
    items = studio.locator("#shop-card .pin-item")
    await items.nth(1).wait_for(timeout=15000)
    assert await items.count() == 2
    assert "¥39.9 / 盒" in await items.nth(1).text_content()
    assert await studio.text_content("#shop-card .pin-session") == "番茄专场"

    await items.nth(1).locator("button").click()
    await studio.wait_for_selector("#shop-card .pin-item.pinned .pin-now")
    assert await studio.locator("#shop-card .pin-item.pinned").get_attribute("data-product-id") == str(second["id"])
    assert await studio.locator("#shop-card .pin-item.pinned button").text_content() == "取消讲解"
    state = await (await shop.client.get(f"/api/rooms/{shop.room}/shop")).json()
    assert state["pinned_product_id"] == second["id"]
    await viewer.wait_for_function(
        "document.getElementById('shop-panel').textContent.includes('土鸡蛋 30枚')", timeout=5000)

    await studio.locator("#shop-card .pin-item.pinned button").click()
    await studio.wait_for_function("!document.querySelector('#shop-card .pin-item.pinned')", timeout=5000)
    assert (await (await shop.client.get(f"/api/rooms/{shop.room}/shop")).json())["pinned_product_id"] is None

    await studio.fill("#key", "sk_wrong")
    await items.first.locator("button").click()
    await studio.wait_for_function("document.querySelector('#shop-card .pin-msg').textContent !== ''", timeout=5000)
    assert await studio.text_content("#shop-card .pin-msg") == "推流密钥不正确，无法讲解商品"
    assert (await (await shop.client.get(f"/api/rooms/{shop.room}/shop")).json())["pinned_product_id"] is None

    # Without a key, a signed-in host's session pins (with its CSRF token).
    from server.domain.accounts.roles import Role
    from tests.helpers import staff_account

    await staff_account(shop.client.app, "host@example.com", "host-pass-1", "", Role.HOST, (shop.room,))
    login = await ctx.request.post(str(shop.client.make_url("/api/auth/login")),
                                   data={"identifier": "host@example.com", "password": "host-pass-1"})
    assert login.ok
    await studio.fill("#key", "")
    await items.first.locator("button").click()
    await studio.wait_for_selector("#shop-card .pin-item.pinned", timeout=5000)
    assert (await (await shop.client.get(f"/api/rooms/{shop.room}/shop")).json())["pinned_product_id"] == shop.product["id"]
    assert errors == []


async def test_the_operator_sees_pick_lists_and_orders_per_pickup_point(shop: Shop, browser: Any) -> None:
    """/ops: a stranger is asked to sign in, a viewer is told it is for operators, an operator
    sees what to pack per pickup point and the orders, filtered by community, with the CSV link."""
    from server.domain.accounts.roles import Role
    from server.http.keys import ACCOUNTS

    lake = await shop.call("POST", "/api/communities", {"name": "翠湖小区", "leader_name": "李叔"}, status=201)
    gate = await shop.call("POST", f"/api/communities/{lake['id']}/pickup-points",
                           {"name": "南门快递柜", "address": "翠湖小区南门", "hours": "全天"}, status=201)
    buyers = [*await make_buyers(shop.client, 2, shop.community["id"]), *await make_buyers(shop.client, 1, lake["id"], prefix="l")]
    marked_up = "<b>李</b><img src=x>"
    for i, (buyer, point, qty) in enumerate(zip(buyers, (shop.point, shop.point, gate), (2, 1, 3), strict=True)):
        resp = await shop.client.post("/api/orders", headers=await csrf(shop.client, buyer), json={
            "room_id": shop.room, "product_id": shop.product["id"], "quantity": qty, "idempotency_key": key(),
            "delivery": {**pickup(shop, name=marked_up if i == 0 else f"邻居{i}"), "pickup_point_id": point["id"]}})
        assert resp.status == 201, await resp.text()

    await shop.client.app[ACCOUNTS].register("ops@example.com", "ops-pass-123", role=Role.OPERATOR)
    base = str(shop.client.make_url("/"))
    ctx = await browser.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN")
    page = await ctx.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    await page.goto(str(shop.client.make_url("/ops")))
    await page.wait_for_function("document.body.dataset.state === 'signin'", timeout=10000)
    assert await page.text_content("#gate-title") == "请用运营账号登录"
    # A viewer signed in is told this page is for operators.
    await ctx.add_cookies([{"name": "fc_session", "value": buyers[0].cookie, "url": base}])
    await page.reload()
    await page.wait_for_function("document.body.dataset.state === 'forbidden'", timeout=10000)
    # The operator signs in with a password.
    await ctx.clear_cookies()
    login = await ctx.request.post(str(shop.client.make_url("/api/auth/login")),
                                   data={"identifier": "ops@example.com", "password": "ops-pass-123"})
    assert login.ok
    await page.reload()
    await page.wait_for_function("document.body.dataset.state === 'ready'", timeout=10000)
    picks = page.locator("#picks .ops-pick")
    await picks.nth(1).wait_for(timeout=10000)
    texts = [await picks.nth(i).text_content() for i in range(2)]
    assert "3号楼驿站" in texts[0] and "× 3" in texts[0] and "2 单" in texts[0]  # 2 + 1 tomatoes, two orders
    assert "南门快递柜" in texts[1] and "翠湖小区" in texts[1] and "× 3" in texts[1]
    rows = page.locator("#orders tr")
    assert await rows.count() == 3
    assert marked_up in await page.text_content("#orders")  # a buyer's name, as text
    assert await page.locator("#orders img").count() == 0

    await page.select_option("#community", str(lake["id"]))
    await page.wait_for_function("document.querySelectorAll('#orders tr').length === 1", timeout=5000)
    assert await picks.count() == 1
    assert await page.get_attribute("#csv", "href") == f"/api/orders.csv?community_id={lake['id']}"
    csv = await ctx.request.get(str(shop.client.make_url(f"/api/orders.csv?community_id={lake['id']}")))
    assert csv.ok and len((await csv.text()).strip().splitlines()) == 2  # the header and the one order
    assert errors == []
