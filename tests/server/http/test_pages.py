"""The HTML pages as HTTP resources: the moderator console is served like the viewer and studio."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from server.app import create_app
from tests.conftest import make_settings
from tests.helpers import add_room


async def test_the_console_page_is_public_and_an_unknown_room_is_a_404_that_explains_itself(
    database_url: str, aiohttp_client: Callable[..., Any]
) -> None:
    client = await aiohttp_client(create_app(make_settings(database_url)))
    await add_room(client, "farm")
    page = await client.get("/mod/farm")  # anonymous: the page asks them to sign in
    assert page.status == 200
    assert page.content_type == "text/html"
    html = await page.text()
    assert 'src="/static/js/mod/console.js"' in html
    assert page.headers["Cache-Control"] == "no-cache"
    assert page.headers["X-Content-Type-Options"] == "nosniff"
    assert page.headers["Referrer-Policy"] == "no-referrer"

    missing = await client.get("/mod/no-such-room")
    assert missing.status == 404
    assert await missing.text() == html, "the same page, which says the room does not exist"
    for path in ("/static/js/mod/console.js", "/static/js/strings-mod.js", "/static/mod.css"):
        assert (await client.get(path)).status == 200, path
