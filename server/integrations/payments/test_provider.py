"""A payment provider for tests and demos, shaped like the real ones: the webhook is signed
(HMAC-SHA256 over "timestamp.body", Stripe-style, with a replay window) and refunds are keyed by
refund id on the provider's side, so asking twice pays once."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Protocol

from ...domain.commerce.errors import BadSignature
from ...domain.commerce.orders import PaymentMethod
from ...domain.commerce.payments import PaymentEvent, RefundReceipt
from ...domain.errors import InvalidInput

SIGNATURE_HEADER = "X-Fieldcast-Signature"
TOLERANCE_S = 300


class RefundLedger(Protocol):
    async def send(self, refund_id: str, order_id: int, amount_fen: int, now: datetime) -> bool:
        """Record money sent back; False if this refund id was sent before."""


def sign(secret: str, body: bytes, timestamp: int | None = None) -> str:
    """The header value the provider sends: t=<unix seconds>,v1=<hex hmac>."""
    t = int(time.time()) if timestamp is None else timestamp
    mac = hmac.new(secret.encode(), f"{t}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={t},v1={mac}"


class TestProvider:
    method = PaymentMethod.TEST

    def __init__(self, secret: str, ledger: RefundLedger, clock: Callable[[], datetime]) -> None:
        self.secret = secret
        self.ledger = ledger
        self.clock = clock

    async def refund(self, order_id: int, refund_id: str, amount_fen: int, *, paid: bool) -> RefundReceipt:
        if not paid:
            return RefundReceipt(refund_id, amount_fen, moved_money=False)
        await self.ledger.send(refund_id, order_id, amount_fen, self.clock())
        return RefundReceipt(refund_id, amount_fen, moved_money=True)

    def verify_webhook(self, body: bytes, headers: Mapping[str, str]) -> PaymentEvent:
        header = headers.get(SIGNATURE_HEADER, "")
        parts = dict(p.split("=", 1) for p in header.split(",") if "=" in p)
        try:
            timestamp = int(parts.get("t", ""))
        except ValueError:
            raise BadSignature("missing or malformed signature header") from None
        if abs(time.time() - timestamp) > TOLERANCE_S:
            raise BadSignature("the signature is too old (or from the future)")
        expected = hmac.new(self.secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
        if not hmac.compare_digest(expected, parts.get("v1", "")):
            raise BadSignature("the signature does not match")
        try:
            data = json.loads(body)
            if not isinstance(data, dict):
                raise InvalidInput("the webhook body must be a JSON object")
            if data.get("type") != "payment.succeeded":
                raise InvalidInput(f"unhandled event type {data.get('type')!r}")
            return PaymentEvent(str(data["id"])[:80], int(data["order_id"]), int(data["amount_fen"]))
        except (ValueError, KeyError, TypeError) as exc:
            raise InvalidInput("the webhook body is not a payment event") from exc
