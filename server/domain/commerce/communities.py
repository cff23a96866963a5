"""Communities (小区): neighbourhoods that buy together, each with a leader (团长) and pickup points."""

from __future__ import annotations

from dataclasses import dataclass

from .text import clean_line


@dataclass(frozen=True)
class PickupPoint:
    id: int | None
    community_id: int
    name: str
    address: str
    hours: str = ""


@dataclass(frozen=True)
class Community:
    id: int | None
    name: str
    leader_name: str
    leader_phone: str
    delivery: bool = True  # whether home delivery is offered besides the pickup points
    pickup_points: tuple[PickupPoint, ...] = ()


@dataclass(frozen=True)
class CommunityPrice:
    """A community-exclusive price for one product (the leader negotiated it)."""

    community_id: int
    product_id: int
    price_fen: int


def new_community(*, name: str, leader_name: str, leader_phone: str, delivery: bool) -> Community:
    return Community(
        id=None,
        name=clean_line(name, field="name", max_len=40),
        leader_name=clean_line(leader_name, field="leader_name", max_len=24),
        leader_phone=clean_line(leader_phone, field="leader_phone", max_len=20, min_len=0),
        delivery=delivery,
    )


def new_pickup_point(community_id: int, *, name: str, address: str, hours: str) -> PickupPoint:
    return PickupPoint(
        id=None,
        community_id=community_id,
        name=clean_line(name, field="name", max_len=40),
        address=clean_line(address, field="address", max_len=120),
        hours=clean_line(hours, field="hours", max_len=40, min_len=0),
    )
