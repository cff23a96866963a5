"""Group-buys (拼团): one pool per (community, product, session), price tiers by number of buyers.

Buyers pay the price of the tier reached when they order. When the deadline passes the pool
settles on the tier finally reached: each order is refunded the difference exactly once (the
refund id is derived from the pool and the order), or, below the first tier, the failure rule
applies: refund everything, or ship at the list price.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from itertools import pairwise

from ..errors import InvalidInput
from .money import yuan


class FailureRule(StrEnum):
    REFUND_ALL = "refund_all"
    SHIP_AT_LIST = "ship_at_list"


class PoolState(StrEnum):
    OPEN = "open"
    SETTLING = "settling"  # the deadline passed; refunds are being made (resumable)
    SETTLED = "settled"


@dataclass(frozen=True, order=True)
class Tier:
    buyers: int  # this many distinct buyers unlock...
    discount_fen: int  # ...this much off each unit


@dataclass(frozen=True)
class GroupBuy:
    id: int | None
    session_id: int
    product_id: int
    community_id: int
    tiers: tuple[Tier, ...]  # ascending by buyers
    deadline: datetime
    failure_rule: FailureRule
    state: PoolState = PoolState.OPEN
    # Frozen when settlement starts, so a resumed settlement uses the same numbers.
    final_buyers: int | None = None

    def open_at(self, now: datetime) -> bool:
        return self.state is PoolState.OPEN and now < self.deadline


@dataclass(frozen=True)
class Progress:
    buyers: int
    discount_fen: int  # the discount reached now (0 below the first tier)
    next_tier: Tier | None  # the next tier to reach, if any
    missing: int  # buyers still needed for next_tier (0 when none)
    unlocked: bool  # the first tier is reached: the group-buy is on


def check_tiers(tiers: list[Tier], price_fen: int) -> tuple[Tier, ...]:
    if not 1 <= len(tiers) <= 5:
        raise InvalidInput("a group-buy has 1-5 tiers")
    ordered = sorted(tiers)
    for previous, tier in pairwise(ordered):
        if tier.buyers == previous.buyers:
            raise InvalidInput("two tiers need the same number of buyers")
        if tier.discount_fen <= previous.discount_fen:
            raise InvalidInput("a tier with more buyers must give a bigger discount")
    for tier in ordered:
        if tier.buyers < 2:
            raise InvalidInput("a tier needs at least 2 buyers")
        if not 0 < tier.discount_fen < price_fen:
            raise InvalidInput("a tier's discount must be above 0 and below the price")
    return tuple(ordered)


def tier_reached(tiers: tuple[Tier, ...], buyers: int) -> Tier | None:
    """The highest tier whose threshold `buyers` meets (a threshold is reached exactly at it)."""
    reached = None
    for tier in tiers:
        if buyers >= tier.buyers:
            reached = tier
    return reached


def progress(pool: GroupBuy, buyers: int) -> Progress:
    reached = tier_reached(pool.tiers, buyers)
    upcoming = next((t for t in pool.tiers if t.buyers > buyers), None)
    return Progress(
        buyers=buyers,
        discount_fen=reached.discount_fen if reached else 0,
        next_tier=upcoming,
        missing=upcoming.buyers - buyers if upcoming else 0,
        unlocked=reached is not None,
    )


def progress_text(community: str, p: Progress) -> tuple[str, str]:
    """The line viewers read, in Chinese and English: "阳光花园 已有32位邻居下单 再差8位成团"."""
    if p.next_tier is not None and not p.unlocked:
        return (f"{community} 已有{p.buyers}位邻居下单 再差{p.missing}位成团",
                f"{community}: {p.buyers} neighbours in, {p.missing} more to unlock {yuan(p.next_tier.discount_fen)} off")
    if p.next_tier is not None:
        return (f"{community} 已成团 {p.buyers}位邻居 再差{p.missing}位每件减{yuan(p.next_tier.discount_fen)}",
                f"{community}: {p.buyers} neighbours in, {p.missing} more for {yuan(p.next_tier.discount_fen)} off")
    return (f"{community} 已成团 {p.buyers}位邻居 每件减{yuan(p.discount_fen)}",
            f"{community}: {p.buyers} neighbours in, {yuan(p.discount_fen)} off unlocked")


def refund_id(pool_id: int, order_id: int) -> str:
    """Deterministic: the same pool and order always name the same refund, so it happens once."""
    return f"gb{pool_id}-o{order_id}"


@dataclass(frozen=True)
class PoolOrder:
    order_id: int
    quantity: int
    unit_paid_fen: int  # what the buyer was charged per unit
    unit_list_fen: int  # the list (or community) price per unit before the group discount
    total_fen: int


@dataclass(frozen=True)
class PlannedRefund:
    refund_id: str
    order_id: int
    amount_fen: int
    full: bool  # the whole order is refunded (the pool failed with REFUND_ALL)


def settlement_plan(pool: GroupBuy, buyers: int, orders: list[PoolOrder]) -> list[PlannedRefund]:
    """What each order gets back once the pool closes with `buyers` distinct buyers."""
    assert pool.id is not None
    reached = tier_reached(pool.tiers, buyers)
    plan = []
    for order in sorted(orders, key=lambda o: o.order_id):
        if reached is None and pool.failure_rule is FailureRule.REFUND_ALL:
            plan.append(PlannedRefund(refund_id(pool.id, order.order_id), order.order_id, order.total_fen, True))
            continue
        final_unit = order.unit_list_fen - (reached.discount_fen if reached else 0)
        amount = max(0, (order.unit_paid_fen - final_unit) * order.quantity)
        if amount:
            plan.append(PlannedRefund(refund_id(pool.id, order.order_id), order.order_id, amount, False))
    return plan
