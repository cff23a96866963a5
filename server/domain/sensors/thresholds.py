"""Cold-chain bands over time: how long, in total, a batch has spent outside its product's band.

Time is charged from each reading to the next one (at most MAX_GAP, so a silent sensor does not
turn one bad reading into hours of excursion) whenever the earlier reading was outside the band.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from ..trace.batches import ColdChainBand

MAX_GAP = timedelta(minutes=10)


@dataclass(frozen=True)
class Excursion:
    batch_id: int
    device_id: str
    minutes_outside: float = 0.0
    last_at: datetime | None = None
    last_value: float | None = None
    last_outside: bool = False
    breached_at: datetime | None = None


def advance(state: Excursion, band: ColdChainBand, at: datetime, value: float) -> tuple[Excursion, bool]:
    """The state after one reading, and whether this reading is the one that breaches the rule."""
    minutes = state.minutes_outside
    if state.last_at is not None and state.last_outside and at > state.last_at:
        minutes += min(at - state.last_at, MAX_GAP).total_seconds() / 60.0
    outside = not band.contains(value)
    breached = state.breached_at is None and outside and minutes >= band.max_minutes_outside
    new = replace(state, minutes_outside=minutes, last_at=at, last_value=value, last_outside=outside,
                  breached_at=at if breached else state.breached_at)
    return new, breached
