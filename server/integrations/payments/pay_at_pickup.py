"""Pay at pickup: the buyer pays the leader (团长) when collecting. No money moves online, so a
refund before collection just lowers what is due; there is no webhook."""

from __future__ import annotations

from collections.abc import Mapping

from ...domain.commerce.errors import BadSignature
from ...domain.commerce.orders import PaymentMethod
from ...domain.commerce.payments import PaymentEvent, RefundReceipt


class PayAtPickup:
    method = PaymentMethod.PAY_AT_PICKUP

    async def refund(self, order_id: int, refund_id: str, amount_fen: int, *, paid: bool) -> RefundReceipt:
        # Paid in cash at the pickup point: the leader hands the difference back there.
        return RefundReceipt(refund_id, amount_fen, moved_money=False)

    def verify_webhook(self, body: bytes, headers: Mapping[str, str]) -> PaymentEvent:
        raise BadSignature("pay at pickup has no webhook")
