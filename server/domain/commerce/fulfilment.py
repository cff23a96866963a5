"""After an order exists: payment (webhooks), cancellation by the buyer, and the operator moving
it along (packed, departed, at the pickup point, collected or delivered)."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from datetime import datetime

from ..errors import Forbidden
from .errors import BadTransition, UnknownOrder
from .orders import Order, OrderState, PaymentMethod
from .payments import PaymentProvider
from .ports import CommerceEvents, NoEvents, OrderPlacement, OrderStore

logger = logging.getLogger(__name__)


class Fulfilment:
    def __init__(
        self,
        orders: OrderStore,
        placement: OrderPlacement,
        providers: Mapping[PaymentMethod, PaymentProvider],
        clock: Callable[[], datetime],
        events: CommerceEvents | None = None,
    ) -> None:
        self.orders = orders
        self.placement = placement
        self.providers = providers
        self.clock = clock
        self.events: CommerceEvents = events or NoEvents()

    async def _moved(self, order: Order, release: bool) -> Order:
        if release:
            await self.placement.release(order)
        if release or order.state in (OrderState.CANCELLED, OrderState.REFUNDED):
            await self.events.units_changed(order.product_id, order.claim_id, order.room_id)
            if order.group_buy_id is not None:
                await self.events.group_buy_changed(order.group_buy_id)
        await self.events.order_changed(order)
        return order

    async def advance(self, order_id: int, to: OrderState, note: str = "") -> Order:
        """The operator (or host) moves an order on; the state machine says what is allowed."""
        if to in (OrderState.PAID, OrderState.REFUNDED, OrderState.PARTIALLY_REFUNDED):
            raise BadTransition(f"{to.value} is set by the payment provider, not by hand")
        order, release = await self.orders.transition(order_id, to, self.clock(), note)
        logger.info("order now %s", to.value, extra={"order": order_id})
        return await self._moved(order, release)

    async def cancel_by_buyer(self, user_id: int, order_id: int) -> Order:
        order = await self.orders.get(order_id)
        if order is None or order.user_id != user_id:
            raise UnknownOrder(f"no order {order_id}")
        if order.state is not OrderState.PENDING_PAYMENT:
            raise Forbidden("only an unpaid order can be cancelled here; ask the shop for a refund")
        order, release = await self.orders.transition(order_id, OrderState.CANCELLED, self.clock(), "cancelled by buyer")
        return await self._moved(order, release)

    async def payment_webhook(self, method: PaymentMethod, body: bytes, headers: Mapping[str, str]) -> tuple[Order, bool]:
        provider = self.providers.get(method)
        if provider is None:
            raise UnknownOrder(f"no payment provider {method.value}")
        event = provider.verify_webhook(body, headers)
        order, applied = await self.orders.record_payment(event, method.value, self.clock())
        if applied:
            logger.info("order paid", extra={"order": order.id})
            await self.events.order_changed(order)
        return order, applied
