"""Payment providers behind one port: pay at pickup (how community group-buys often work) and a
test provider whose webhook is signed. Refunds are idempotent by refund id on the provider side.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol

from .orders import PaymentMethod


@dataclass(frozen=True)
class PaymentEvent:
    """A provider's word that an order was paid (from a verified webhook)."""

    event_id: str  # the provider's id: a redelivery carries the same one
    order_id: int
    amount_fen: int


@dataclass(frozen=True)
class RefundReceipt:
    refund_id: str
    amount_fen: int
    moved_money: bool  # False when nothing had been paid yet (pay at pickup: the amount due drops)


class PaymentProvider(Protocol):
    method: PaymentMethod

    async def refund(self, order_id: int, refund_id: str, amount_fen: int, *, paid: bool) -> RefundReceipt:
        """Give `amount_fen` back. Calling again with the same refund_id must not pay twice."""

    def verify_webhook(self, body: bytes, headers: Mapping[str, str]) -> PaymentEvent:
        """Check the signature and parse; raises BadSignature / InvalidInput."""
