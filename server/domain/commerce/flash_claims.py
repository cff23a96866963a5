"""Flash claims (限量尝鲜): a fixed number of units at a trial price, a per-buyer limit, a window."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from ..errors import InvalidInput
from .errors import ClaimEnded, ClaimNotOpen


@dataclass(frozen=True)
class FlashClaim:
    id: int | None
    session_id: int
    product_id: int
    price_fen: int
    quantity: int  # units offered in total
    per_buyer_limit: int
    starts_at: datetime
    ends_at: datetime
    remaining: int  # the system-of-record count (Redis holds the hot one when configured)

    def check_window(self, now: datetime) -> None:
        if now < self.starts_at:
            raise ClaimNotOpen("this flash claim has not started yet")
        if now >= self.ends_at:
            raise ClaimEnded("this flash claim has ended")


def check_claim(*, price_fen: int, quantity: int, per_buyer_limit: int, starts_at: datetime, ends_at: datetime) -> None:
    if price_fen <= 0:
        raise InvalidInput("price_fen must be positive")
    if quantity <= 0:
        raise InvalidInput("quantity must be positive")
    if not 1 <= per_buyer_limit <= quantity:
        raise InvalidInput("per_buyer_limit must be between 1 and the quantity")
    if ends_at <= starts_at:
        raise InvalidInput("ends_at must be after starts_at")
