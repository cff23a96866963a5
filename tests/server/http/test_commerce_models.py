"""The order's public JSON, written directly for speed, is exactly what its pydantic model gives."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from server.domain.commerce.orders import Fulfilment, Order, OrderDraft, OrderState, PaymentMethod, TimelineEntry
from server.domain.commerce.pricing import PriceLine
from server.http.commerce_models import order_public, order_public_json

pytestmark = pytest.mark.timeout(30)


def _order(i: int) -> Order:
    lines = (PriceLine("list", "原价", "List price", 1280), PriceLine("coupon", "直播专享券 <b>", "Live coupon \"5\"", -500),
             PriceLine("group_buy", "成团价 🍅", "Group price", -100))[: 1 + i % 3]
    draft = OrderDraft(
        user_id=7 + i, idempotency_key=f"k-{i}", request_hash="h", session_id=3, room_id="farm", product_id=5,
        product_name_zh="高山有机番茄", product_name_en="" if i % 2 else "Highland tomatoes", quantity=1 + i,
        unit_base_fen=1280, unit_price_fen=780, total_fen=780 * (1 + i), lines=lines,
        fulfilment=Fulfilment.DELIVERY if i % 2 else Fulfilment.PICKUP, community_id=None if i == 3 else 2,
        pickup_point_id=None if i % 2 else 4, delivery_address="阳光花园\n3号楼" if i % 2 else "", contact_name="李女士",
        contact_phone="13912345678", payment_method=PaymentMethod.TEST if i == 2 else PaymentMethod.PAY_AT_PICKUP,
        group_buy_id=9 if i % 3 == 2 else None, claim_id=11 if i == 1 else None, coupon_code="LIVE5" if i % 3 else None,
    )
    created = [datetime(2026, 11, 22, 14, 0, tzinfo=UTC), datetime(2026, 11, 22, 14, 0, 1, 123456, tzinfo=UTC),
               datetime(2026, 11, 22, 22, 0, tzinfo=timezone(timedelta(hours=8))), datetime(2026, 1, 1, tzinfo=UTC)][i % 4]
    timeline = tuple(TimelineEntry(state, created + timedelta(minutes=k, microseconds=k * 7), "备注" if k else "")
                     for k, state in enumerate([OrderState.PENDING_PAYMENT, OrderState.PAID, OrderState.REFUNDED][: 1 + i % 3]))
    return Order(100 + i, draft, timeline[-1].state, created, 0 if i % 2 else 50 * i, timeline)


@pytest.mark.parametrize("i", range(8))
def test_the_direct_json_is_the_models_json(i: int) -> None:
    order = _order(i)
    assert order_public_json(order) == order_public(order).model_dump(mode="json")
