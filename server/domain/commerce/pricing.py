"""The price a buyer pays, computed by the server only and explained line by line.

A client never sends a price: it may send the total it showed the buyer, and if that is not what
the server computes now the order is refused with `price_changed` rather than charged silently.
"""

from __future__ import annotations

from dataclasses import dataclass

from .coupons import Coupon
from .money import yuan


@dataclass(frozen=True)
class PriceLine:
    kind: str  # list | community_price | group_buy | flash_claim | coupon
    label_zh: str
    label_en: str
    amount_fen: int  # positive adds, negative takes off


@dataclass(frozen=True)
class Quote:
    quantity: int
    unit_list_fen: int  # the product's list price
    unit_base_fen: int  # list or community price: what group-buy tiers are taken off
    unit_price_fen: int  # what one unit costs after community price, group tier or flash claim
    lines: tuple[PriceLine, ...]
    total_fen: int


def quote(
    *,
    list_fen: int,
    quantity: int,
    community_fen: int | None = None,
    community_name: str = "",
    group_discount_fen: int = 0,
    group_buyers: int = 0,
    claim_fen: int | None = None,
    coupon: Coupon | None = None,
) -> Quote:
    lines = [PriceLine("list", f"单价 {yuan(list_fen)} × {quantity}", f"{yuan(list_fen)} × {quantity}", list_fen * quantity)]
    if claim_fen is not None:
        # A flash claim is its own price: no community price, tier or coupon on top of it.
        off = (list_fen - claim_fen) * quantity
        lines.append(PriceLine("flash_claim", f"限量尝鲜价 {yuan(claim_fen)}", f"Flash claim price {yuan(claim_fen)}", -off))
        total = claim_fen * quantity
        return Quote(quantity, list_fen, claim_fen, claim_fen, tuple(lines), total)
    base = list_fen
    if community_fen is not None and community_fen < list_fen:
        base = community_fen
        lines.append(PriceLine(
            "community_price", f"{community_name}专享价 {yuan(base)}", f"{community_name} price {yuan(base)}",
            -(list_fen - base) * quantity,
        ))
    discount = min(group_discount_fen, base - 1) if group_discount_fen > 0 else 0
    if discount:
        lines.append(PriceLine(
            "group_buy", f"拼团 {group_buyers}人已成团 每件减{yuan(discount)}",
            f"Group-buy: {group_buyers} neighbours in, {yuan(discount)} off each", -discount * quantity,
        ))
    unit = base - discount
    subtotal = unit * quantity
    if coupon is not None:
        # A coupon never makes an order free: at least one fen is paid.
        off = min(coupon.discount_fen, subtotal - 1)
        lines.append(PriceLine("coupon", f"直播专享券 {coupon.code}", f"Live coupon {coupon.code}", -off))
        subtotal -= off
    return Quote(quantity, list_fen, base, unit, tuple(lines), subtotal)
