"""Payment provider webhooks: verified by the provider's signature, idempotent by event id."""

from __future__ import annotations

import logging

from aiohttp import web
from pydantic import BaseModel

from ..domain.commerce.errors import UnknownOrder
from ..domain.commerce.orders import PaymentMethod
from .commerce_keys import COMMERCE
from .openapi import api

logger = logging.getLogger(__name__)
routes = web.RouteTableDef()


class WebhookAck(BaseModel):
    order_id: int
    state: str
    duplicate: bool  # True: this event was delivered before and changed nothing now


@routes.post("/api/webhooks/payments/{provider}")
@api("Payment provider webhook (signed; redeliveries are harmless)", tag="payments", role=None, response=WebhookAck)
async def payment_webhook(request: web.Request) -> web.Response:
    # Who may call: whoever holds the provider's signing secret; the signature is the check.
    try:
        method = PaymentMethod(request.match_info["provider"])
    except ValueError:
        raise UnknownOrder(f"no payment provider {request.match_info['provider']!r}") from None
    body = await request.read()
    order, applied = await request.app[COMMERCE].fulfilment.payment_webhook(method, body, request.headers)
    return web.json_response(WebhookAck(order_id=order.id, state=order.state.value, duplicate=not applied).model_dump())
