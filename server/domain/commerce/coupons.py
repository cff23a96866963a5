"""Live coupons (直播专享券): a code worth some fen off, for one session, once per buyer."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from ..errors import InvalidInput
from .errors import CouponNotApplicable

_CODE = re.compile(r"^[A-Z0-9]{3,20}$")


@dataclass(frozen=True)
class Coupon:
    code: str
    session_id: int | None  # None: any session
    discount_fen: int
    min_spend_fen: int
    starts_at: datetime
    ends_at: datetime

    def check(self, *, session_id: int, subtotal_fen: int, now: datetime) -> None:
        if self.session_id is not None and self.session_id != session_id:
            raise CouponNotApplicable("this coupon is for another live session")
        if not self.starts_at <= now < self.ends_at:
            raise CouponNotApplicable("this coupon is not valid now")
        if subtotal_fen < self.min_spend_fen:
            raise CouponNotApplicable("the order is below this coupon's minimum spend")


def normalise_code(raw: str) -> str:
    code = raw.strip().upper()
    if not _CODE.match(code):
        raise InvalidInput("a coupon code is 3-20 letters or digits")
    return code
