"""Settling group-buys at their deadline, resumably: plan every refund (deterministic ids, planned
once), then make each one not yet done. A crash anywhere leaves a state the next run finishes
without paying anyone twice: the plan is idempotent, the provider dedupes by refund id, and an
order takes a refund into its totals only when the refund row flips from pending to done.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from datetime import datetime

from .group_buy import PoolOrder, PoolState, settlement_plan
from .orders import HOLDS_STOCK, OrderState, PaymentMethod
from .payments import PaymentProvider
from .ports import (
    CommerceEvents,
    GroupBuySettlementRepository,
    NoEvents,
    OrderPlacement,
    OrderStore,
)

logger = logging.getLogger(__name__)


class Settlement:
    def __init__(
        self,
        pools: GroupBuySettlementRepository,
        orders: OrderStore,
        providers: Mapping[PaymentMethod, PaymentProvider],
        placement: OrderPlacement,
        clock: Callable[[], datetime],
        events: CommerceEvents | None = None,
    ) -> None:
        self.pools = pools
        self.orders = orders
        self.providers = providers
        self.placement = placement
        self.clock = clock
        self.events: CommerceEvents = events or NoEvents()

    async def settle_due(self) -> int:
        """Settle every pool past its deadline (and finish any settlement cut short)."""
        settled = 0
        for pool in await self.pools.due(self.clock()):
            assert pool.id is not None
            await self.settle(pool.id)
            settled += 1
        return settled

    async def settle(self, pool_id: int) -> None:
        pool = await self.pools.begin_settlement(pool_id)
        if pool.state is PoolState.SETTLED:
            return
        assert pool.final_buyers is not None
        now = self.clock()
        if pool.state is PoolState.SETTLING:
            orders = await self.orders.list(group_buy_id=pool_id, states=list(HOLDS_STOCK))
            plan = settlement_plan(pool, pool.final_buyers, [
                PoolOrder(o.id, o.quantity, o.unit_price_fen, o.unit_base_fen, o.total_fen - o.refunded_fen)
                for o in orders
            ])
            await self.orders.plan_refunds(plan, pool_id, now)
        for refund in await self.orders.pending_refunds(pool_id):
            order = await self.orders.require(refund.order_id)
            provider = self.providers[order.payment_method]
            paid = order.state is not OrderState.PENDING_PAYMENT
            await provider.refund(order.id, refund.refund_id, refund.amount_fen, paid=paid)
            updated, release = await self.orders.complete_refund(refund, self.clock())
            if updated is not None:
                if release:
                    await self.placement.release(updated)
                await self.events.order_changed(updated)
        await self.pools.mark_settled(pool_id)
        logger.info("group-buy settled with %d buyers", pool.final_buyers, extra={"group_buy": pool_id})
        await self.events.group_buy_changed(pool_id)
