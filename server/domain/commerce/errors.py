"""Commerce refusals: each has a stable code a client can act on (sold_out, claim_limit, ...)."""

from __future__ import annotations

from ..errors import Conflict, InvalidInput, NotFound, Unauthorized


class UnknownProduct(NotFound):
    code = "unknown_product"


class UnknownCommunity(NotFound):
    code = "unknown_community"


class UnknownPickupPoint(NotFound):
    code = "unknown_pickup_point"


class UnknownSession(NotFound):
    code = "unknown_session"


class UnknownClaim(NotFound):
    code = "unknown_claim"


class UnknownGroupBuy(NotFound):
    code = "unknown_group_buy"


class UnknownCoupon(NotFound):
    code = "unknown_coupon"


class UnknownOrder(NotFound):
    code = "unknown_order"


class BadQuantity(InvalidInput):
    code = "bad_quantity"


class NotOnSale(InvalidInput):
    """The product is not attached to the live session the buyer is in."""

    code = "not_on_sale"


class CommunityRequired(InvalidInput):
    code = "community_required"


class SoldOut(Conflict):
    code = "sold_out"
    expected = True


class ClaimNotOpen(InvalidInput):
    code = "claim_not_open"


class ClaimEnded(InvalidInput):
    code = "claim_ended"


class ClaimLimitReached(Conflict):
    code = "claim_limit"


class CouponNotApplicable(InvalidInput):
    code = "coupon_not_applicable"


class CouponUsed(Conflict):
    code = "coupon_used"


class PriceChanged(Conflict):
    """The buyer saw another total than the server computes now: show them the new one."""

    code = "price_changed"


class IdempotencyKeyReused(InvalidInput):
    """The same idempotency key came with a different request (HTTP 422)."""

    code = "idempotency_key_reused"


class BadTransition(Conflict):
    code = "bad_transition"


class BadSignature(Unauthorized):
    code = "bad_signature"


class PaymentMismatch(InvalidInput):
    code = "payment_mismatch"


class PaymentMethodUnavailable(InvalidInput):
    """The order asks for a payment method this server has not enabled (no provider behind it)."""

    code = "payment_method_unavailable"
