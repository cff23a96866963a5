"""`fieldcast demo` sets up a shop in the demo room once: products on sale, each community's
group-buy, a flash claim about to open, and a product being explained."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from server.app import create_app
from server.features.demo_shop import seed_demo_shop
from tests.conftest import make_settings
from tests.helpers import add_room

pytestmark = pytest.mark.timeout(60)


async def test_the_demo_shop_is_made_once_and_shows_everything(sqlite_url: str, aiohttp_client: Callable[..., Any]) -> None:
    client = await aiohttp_client(create_app(make_settings(sqlite_url)))
    await add_room(client, "demo-farm", demo=True)
    assert await seed_demo_shop(client.app, "demo-farm")
    assert not await seed_demo_shop(client.app, "demo-farm")  # a second start changes nothing
    shop = await (await client.get("/api/rooms/demo-farm/shop")).json()
    names = [p["name_zh"] for p in shop["products"]]
    assert names == ["高山有机番茄", "散养土鸡蛋 30枚"]
    tomatoes = shop["products"][0]
    assert shop["pinned_product_id"] == tomatoes["id"]
    assert tomatoes["stock"] == 400  # the flash claim's 100 units are set aside
    assert sorted(g["community_name"] for g in shop["group_buys"]) == ["翠湖小区", "阳光花园"]
    (claim,) = shop["flash_claims"]
    assert claim["price_fen"] == 100 and claim["remaining"] == 100 and claim["starts_at"] > shop["session"]["started_at"]
    communities = await (await client.get("/api/communities")).json()
    assert len(communities) == 2
