"""The demo farm's shop, so `fieldcast demo` shows commerce end to end: two products on sale in a
live session, each neighbourhood's (小区) group-buy on the tomatoes, a flash claim that opens two
minutes after start-up, and the tomatoes being explained (讲解). Made through the same services
as the operator's API, once per database: a room that has a live session already is left alone.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from aiohttp import web

from ..domain.commerce.catalog import new_product
from ..domain.commerce.communities import new_community, new_pickup_point
from ..domain.commerce.flash_claims import FlashClaim
from ..domain.commerce.group_buy import FailureRule, GroupBuy, Tier, check_tiers
from ..http.commerce_keys import COMMERCE

logger = logging.getLogger(__name__)

CLAIM_OPENS_IN = timedelta(minutes=2)
CLAIM_LASTS = timedelta(hours=2)
GROUP_BUY_LASTS = timedelta(days=3)


async def seed_demo_shop(app: web.Application, room_id: str) -> bool:
    """Set up the demo shop in this room unless it has a live session; True if it was made."""
    c = app[COMMERCE]
    if await c.sessions.current(room_id) is not None:
        return False
    now = c.clock()
    tomatoes = await c.catalog.add(new_product(
        name_zh="高山有机番茄", name_en="Highland organic tomatoes", gtin="6901234567892", unit="500g",
        price_fen=1280, stock=500, photos=[], now=now))
    eggs = await c.catalog.add(new_product(
        name_zh="散养土鸡蛋 30枚", name_en="Free-range eggs, 30", gtin="6901234567908", unit="盒",
        price_fen=3990, stock=80, photos=[], now=now))
    assert tomatoes.id is not None and eggs.id is not None
    communities = []
    for name, leader, phone, point, address in (
        ("阳光花园", "王阿姨", "13800000000", "3号楼驿站", "阳光花园3号楼一层"),
        ("翠湖小区", "李叔", "13900000000", "南门快递柜", "翠湖小区南门"),
    ):
        community = await c.communities.add(new_community(name=name, leader_name=leader, leader_phone=phone, delivery=True))
        assert community.id is not None
        await c.communities.add_pickup_point(new_pickup_point(community.id, name=point, address=address, hours="18:00-21:00"))
        communities.append(community.id)
    session = await c.sessions.start(room_id, "番茄专场 现摘现发", now)
    assert session.id is not None
    await c.sessions.attach(session.id, [tomatoes.id, eggs.id])
    tiers = check_tiers([Tier(10, 100), Tier(20, 200)], tomatoes.price_fen)
    for community_id in communities:
        await c.group_buys.add(GroupBuy(None, session.id, tomatoes.id, community_id, tiers, now + GROUP_BUY_LASTS,
                                        FailureRule.SHIP_AT_LIST))
    await c.create_claim(FlashClaim(None, session.id, tomatoes.id, 100, 100, 1, now + CLAIM_OPENS_IN,
                                    now + CLAIM_OPENS_IN + CLAIM_LASTS, 100))
    await c.sessions.pin(session.id, tomatoes.id, now)
    c.forget_caches()
    logger.info("demo shop set up in %s", room_id)
    return True
