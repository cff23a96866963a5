"""Group-buy tiers and settlement plans, as pure functions."""

from __future__ import annotations

from datetime import UTC, datetime

from server.domain.commerce.group_buy import (
    FailureRule,
    GroupBuy,
    PoolOrder,
    Tier,
    progress,
    progress_text,
    settlement_plan,
    tier_reached,
)

TIERS = (Tier(20, 500), Tier(40, 1000))


def pool(rule: FailureRule = FailureRule.SHIP_AT_LIST) -> GroupBuy:
    return GroupBuy(7, 1, 1, 1, TIERS, datetime(2026, 6, 1, tzinfo=UTC), rule)


def test_a_tier_is_reached_exactly_at_its_threshold() -> None:
    assert tier_reached(TIERS, 19) is None
    assert tier_reached(TIERS, 20) == Tier(20, 500)
    assert tier_reached(TIERS, 39) == Tier(20, 500)
    assert tier_reached(TIERS, 40) == Tier(40, 1000)
    assert tier_reached(TIERS, 400) == Tier(40, 1000)


def test_progress_says_how_many_more_neighbours_unlock_the_next_tier() -> None:
    p = progress(pool(), 32)
    assert (p.buyers, p.discount_fen, p.missing, p.unlocked) == (32, 500, 8, True)
    assert progress(pool(), 19).missing == 1 and not progress(pool(), 19).unlocked
    top = progress(pool(), 40)
    assert top.next_tier is None and top.missing == 0 and top.discount_fen == 1000
    zh, en = progress_text("阳光花园", progress(pool(), 12))
    assert zh == "阳光花园 已有12位邻居下单 再差8位成团"
    assert en == "阳光花园: 12 neighbours in, 8 more to unlock ¥5 off"


def test_settlement_refunds_the_difference_to_the_tier_reached_with_stable_ids() -> None:
    orders = [
        PoolOrder(1, 2, 2000, 2000, 4000),  # paid list price before any tier
        PoolOrder(2, 1, 1500, 2000, 1500),  # paid with the first tier
        PoolOrder(3, 1, 1000, 2000, 1000),  # paid the top price already
    ]
    plan = settlement_plan(pool(), 40, orders)
    assert [(r.refund_id, r.amount_fen) for r in plan] == [("gb7-o1", 2000), ("gb7-o2", 500)]
    assert plan == settlement_plan(pool(), 40, list(reversed(orders)))  # deterministic


def test_a_failed_pool_refunds_all_or_ships_at_list_price() -> None:
    orders = [PoolOrder(1, 1, 2000, 2000, 2000), PoolOrder(2, 3, 2000, 2000, 6000)]
    refund_all = settlement_plan(pool(FailureRule.REFUND_ALL), 19, orders)
    assert [(r.order_id, r.amount_fen, r.full) for r in refund_all] == [(1, 2000, True), (2, 6000, True)]
    assert settlement_plan(pool(FailureRule.SHIP_AT_LIST), 19, orders) == []
