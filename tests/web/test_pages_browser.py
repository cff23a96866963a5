"""The viewer and studio pages in real Chromium against the real app: play, publish, take over."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from aiohttp.test_utils import TestServer

from server.app import create_app
from tests.conftest import make_settings
from tests.helpers import add_room

from .conftest import open_page

pytestmark = [pytest.mark.browser, pytest.mark.media]

DESKTOP = {"width": 1366, "height": 768}


@pytest.fixture
async def server(sqlite_url: str, aiohttp_server: Callable[..., Any]) -> TestServer:
    srv: TestServer = await aiohttp_server(create_app(make_settings(sqlite_url)))
    return srv


async def frames(page: Any) -> int:
    stats = await page.evaluate("window.fieldcastViewer.stats()")
    return int(stats["framesDecoded"])


async def test_viewer_plays_the_demo_room_muted_and_switches_language(server: TestServer, browser: Any) -> None:
    await add_room(server, "farm", demo=True)
    page = await open_page(browser, str(server.make_url("/r/farm")))
    await page.wait_for_function("window.fieldcastViewer && window.fieldcastViewer.state === 'playing'", timeout=15000)
    await page.wait_for_function("document.getElementById('video').videoWidth > 0", timeout=10000)
    first = await frames(page)
    await page.wait_for_timeout(1500)
    assert await frames(page) > first, "frames stop being decoded"
    assert await page.evaluate("[video.videoWidth, video.videoHeight]") == [720, 1280]
    assert await page.evaluate("video.muted") is True
    assert await page.is_visible("#sound")
    assert await page.text_content("#sound-text") == "点击开启声音"
    assert await page.text_content("#brand") == "青禾农场"
    assert await page.text_content("#live-pill") == "直播", "the demo camera is a programme on air"

    await page.click("#sound")
    assert await page.evaluate("video.muted") is False
    assert not await page.is_visible("#sound")

    await page.click("#lang")
    assert await page.evaluate("document.documentElement.lang") == "en"
    assert await page.text_content("#live-pill") == "LIVE"
    assert await page.text_content("#tab-chat") == "Chat"
    await page.reload()
    assert await page.evaluate("document.documentElement.lang") == "en", "the choice is remembered"
    assert page.errors == []


async def test_viewer_panels_are_a_sheet_on_phones_and_a_column_on_desktops(server: TestServer, browser: Any) -> None:
    await add_room(server, "farm", demo=True)
    phone = await open_page(browser, str(server.make_url("/r/farm")))
    box = await phone.locator("#panels").bounding_box()
    assert box["y"] + box["height"] == pytest.approx(844, abs=1) and box["height"] < 120, "collapsed at the bottom"
    assert not await phone.is_visible("#chat-panel")
    await phone.click("#tab-chat")
    assert await phone.is_visible("#chat-panel") and not await phone.is_visible("#shop-panel")
    # The sheet opens with a 0.22 s height transition: wait for it rather than catch it midway.
    await phone.wait_for_function("document.getElementById('panels').getBoundingClientRect().height > 300", timeout=3000)
    await phone.click("#panels-collapse")
    await phone.wait_for_selector("#chat-panel", state="hidden", timeout=2000)

    desk = await open_page(browser, str(server.make_url("/r/farm")), viewport=DESKTOP)
    stage = await desk.locator("#stage").bounding_box()
    panels = await desk.locator("#panels").bounding_box()
    assert panels["x"] >= stage["x"] + stage["width"] - 1 and panels["height"] == pytest.approx(768, abs=1)
    assert await desk.is_visible("#shop-panel")


async def test_viewer_says_so_when_the_room_does_not_exist(server: TestServer, browser: Any) -> None:
    page = await open_page(browser, str(server.make_url("/static/viewer.html?room=no-such-room")), locale="en-US")
    await page.wait_for_function("window.fieldcastViewer && window.fieldcastViewer.state === 'not_found'")
    assert await page.text_content("#status-text") == "This live room doesn\u2019t exist"


async def test_studio_publishes_the_camera_and_the_viewer_sees_it_live(server: TestServer, browser: Any) -> None:
    key = await add_room(server, "farm")  # no demo camera: the stand-by slate until the host comes
    viewer = await open_page(browser, str(server.make_url("/r/farm")))
    await viewer.wait_for_function("window.fieldcastViewer.state === 'playing'", timeout=15000)
    assert await viewer.text_content("#live-pill") == "待开播"

    studio = await open_page(browser, str(server.make_url(f"/studio/farm#key={key}")), viewport=DESKTOP)
    assert "#" not in studio.url, "the key leaves the address bar"
    assert await studio.input_value("#key") == key
    await studio.wait_for_function("document.getElementById('preview-video').videoWidth > 0", timeout=10000)
    await studio.click("#golive")
    await studio.wait_for_function("window.fieldcastStudio.state === 'live'", timeout=15000)
    assert await studio.text_content("#badge") == "直播中"
    await studio.wait_for_function("document.getElementById('st-bitrate').textContent !== '—'", timeout=10000)
    assert int(await studio.text_content("#st-bitrate")) > 0

    await viewer.wait_for_function("document.getElementById('live-pill').textContent === '直播'", timeout=10000)
    before = await frames(viewer)
    await viewer.wait_for_timeout(1500)
    assert await frames(viewer) > before
    assert await studio.evaluate("sessionStorage.length") == 0, "not remembered unless asked"

    await studio.click("#golive")
    await studio.wait_for_function("window.fieldcastStudio.state === 'idle'")
    await viewer.wait_for_function("document.getElementById('live-pill').textContent === '待开播'", timeout=10000)
    assert viewer.errors == [] and studio.errors == []


async def test_studio_reports_a_wrong_key_and_takes_over_on_request(server: TestServer, browser: Any) -> None:
    key = await add_room(server, "farm", demo=True)
    first = await open_page(browser, str(server.make_url(f"/studio/farm#key={key}")))
    await first.wait_for_function("document.getElementById('preview-video').videoWidth > 0", timeout=10000)

    await first.fill("#key", "sk_wrong")
    await first.click("#golive")
    await first.wait_for_function("window.fieldcastStudio.state === 'error'", timeout=10000)
    assert (await first.text_content("#message")).startswith("推流密钥不正确")

    await first.fill("#key", key)
    await first.click("#golive")
    await first.wait_for_function("window.fieldcastStudio.state === 'live'", timeout=15000)

    second = await open_page(browser, str(server.make_url(f"/studio/farm#key={key}")), locale="en-US")
    await second.wait_for_function("document.getElementById('preview-video').videoWidth > 0", timeout=10000)
    await second.click("#golive")
    await second.wait_for_function("document.getElementById('takeover-dialog').open", timeout=10000)
    assert await second.text_content("#takeover-title") == "Someone is live \u2014 take over?"
    await second.click("#takeover-dialog button[value=confirm]")
    await second.wait_for_function("window.fieldcastStudio.state === 'live'", timeout=15000)

    # The first studio learns it lost the room, and doesn't fight back on its own.
    await first.wait_for_function("window.fieldcastStudio.state === 'error'", timeout=30000)
    assert await first.text_content("#message") == "直播已被其他设备接管"
    assert not await first.evaluate("document.getElementById('takeover-dialog').open")
    assert await second.evaluate("window.fieldcastStudio.state") == "live"
