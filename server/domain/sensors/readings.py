"""Readings: what a device measured and when, checked for impossible values and order, and the
5-minute buckets older history is kept as."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from ..errors import InvalidInput

# quantity -> (unit, lowest possible, highest possible)
QUANTITIES: dict[str, tuple[str, float, float]] = {
    "temperature": ("°C", -80.0, 100.0),
    "humidity": ("%", 0.0, 100.0),
    "soil_moisture": ("%", 0.0, 100.0),
}
LABELS_ZH = {"temperature": "温度", "humidity": "湿度", "soil_moisture": "土壤湿度"}
BUCKET = timedelta(minutes=5)
CLOCK_SKEW = timedelta(minutes=2)


class ImpossibleReading(InvalidInput):
    code = "impossible_reading"


class OutOfOrderReading(InvalidInput):
    code = "out_of_order_reading"


class BadPanelEntry(InvalidInput):
    code = "bad_panel_entry"


def panel_entry(entry: str) -> tuple[str, str | None]:
    """A sensor panel entry -> (device id, quantity): "truck-1" shows every quantity the device
    reports, "field-3:soil_moisture" only that one (a field probe's air readings can stay off)."""
    device_id, colon, quantity = entry.partition(":")
    if colon and quantity not in QUANTITIES:
        raise BadPanelEntry(f"{entry[:60]!r}: after the colon comes one of {', '.join(QUANTITIES)}")
    return device_id, quantity or None


@dataclass(frozen=True)
class Reading:
    device_id: str
    at: datetime
    values: dict[str, float]

    def __hash__(self) -> int:
        return hash((self.device_id, self.at))


def check_reading(device_id: str, at: datetime, values: dict[str, float], last: datetime | None, now: datetime) -> Reading:
    if not values:
        raise ImpossibleReading(f"a reading needs at least one of {', '.join(QUANTITIES)}")
    for name, value in values.items():
        if name not in QUANTITIES:
            raise ImpossibleReading(f"unknown quantity {name!r}")
        _, low, high = QUANTITIES[name]
        if not math.isfinite(value) or not low <= value <= high:
            raise ImpossibleReading(f"{name} {value} is impossible (allowed {low}..{high})")
    at = at.astimezone(UTC)
    if at > now + CLOCK_SKEW:
        raise OutOfOrderReading(f"reading time {at.isoformat()} is in the future")
    if last is not None and at <= last:
        raise OutOfOrderReading(f"reading time {at.isoformat()} is not after the device's last reading ({last.isoformat()})")
    return Reading(device_id, at, dict(values))


def bucket_of(at: datetime) -> datetime:
    seconds = int(at.timestamp())
    return datetime.fromtimestamp(seconds - seconds % int(BUCKET.total_seconds()), UTC)
