"""Cold-chain breaches: the EPCIS event that flags the batch, the orders holding it, and what the
buyers are told and offered (per the operator's compensation policy)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from ..trace.batches import Batch, ColdChainBand
from ..trace.epcis import iso
from .devices import Device
from .thresholds import Excursion


@dataclass(frozen=True)
class AffectedOrder:
    order_id: int
    user_id: int


class BatchOrders(Protocol):
    """Which orders hold a batch. The commerce feature owns orders; this is all trace needs of them."""

    async def orders_holding(self, batch: Batch) -> list[AffectedOrder]: ...


@dataclass(frozen=True)
class CompensationPolicy:
    kind: str  # "refund_percent" | "coupon_fen" | "replacement" | "none"
    amount: int = 0
    message_zh: str = "非常抱歉：您订购的这批产品在冷链运输中温度超出了允许范围。"
    message_en: str = "We are sorry: the batch in your order left its allowed temperature range in the cold chain."

    def offer_zh(self) -> str:
        return {
            "refund_percent": f"我们将为您退款 {self.amount}%，无需退货。",
            "coupon_fen": f"我们送您一张 {self.amount / 100:.2f} 元的优惠券。",
            "replacement": "我们将免费为您补发一份新鲜产品。",
        }.get(self.kind, "客服会尽快联系您。")

    def offer_en(self) -> str:
        return {
            "refund_percent": f"We will refund {self.amount}% of the order; no need to return anything.",
            "coupon_fen": f"We are sending you a coupon worth ¥{self.amount / 100:.2f}.",
            "replacement": "We will send you a fresh replacement free of charge.",
        }.get(self.kind, "Our service team will contact you shortly.")


DEFAULT_POLICY = CompensationPolicy("refund_percent", 100)


@dataclass(frozen=True)
class Notice:
    id: int | None
    batch_id: int
    order_id: int
    user_id: int
    event_id: str
    message_zh: str
    message_en: str
    offer_zh: str
    offer_en: str
    created_at: datetime


def describe_band(band: ColdChainBand) -> str:
    unit = "°C" if band.quantity == "temperature" else "%"
    return f"{band.low:g}–{band.high:g}{unit}, ≤{band.max_minutes_outside:g} min outside"


def breach_event(batch: Batch, device: Device, band: ColdChainBand, state: Excursion, at: datetime) -> dict[str, Any]:
    """The EPCIS ObjectEvent that flags the batch: a sensor report carrying the alarm exception."""
    kind, uom = ("Temperature", "CEL") if band.quantity == "temperature" else ("RelativeHumidity", "P1")
    value = state.last_value if state.last_value is not None else 0.0
    return {
        "type": "ObjectEvent",
        "eventTime": iso(at),
        "eventTimeZoneOffset": "+00:00",
        "action": "OBSERVE",
        "bizStep": "sensor_reporting",
        "disposition": "non_conformant",
        "quantityList": [{"epcClass": batch.uri}],
        "sensorElementList": [{
            "sensorMetadata": {"time": iso(at), "deviceID": device.uri},
            "sensorReport": [{
                "type": kind, "exception": "ALARM_CONDITION", "value": round(value, 3), "uom": uom, "time": iso(at),
            }],
        }],
        "fieldcast:coldChainRule": describe_band(band),
        "fieldcast:minutesOutside": round(state.minutes_outside, 1),
        "fieldcast:device": device.name,
    }
