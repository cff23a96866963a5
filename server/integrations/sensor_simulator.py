"""The demo's simulated field and truck: plausible readings every few seconds, on devices marked
simulated, so the stream and the trace page say so."""

from __future__ import annotations

import asyncio
import logging
import math
import random
import time

from ..domain.errors import Conflict
from ..features.sensor_hub import SensorHub

logger = logging.getLogger(__name__)

FIELD = ("sim-field", "田间传感器（模拟）", "field")
TRUCK = ("sim-truck", "冷链车（模拟）", "truck")


async def ensure_devices(hub: SensorHub) -> None:
    for device_id, name, kind in (FIELD, TRUCK):
        if device_id not in hub.devices:
            try:
                await hub.add_device(device_id, name, kind, simulated=True)
            except Conflict:
                pass


async def run(hub: SensorHub, period_s: float = 2.0) -> None:
    await ensure_devices(hub)
    rng = random.Random()
    start = time.monotonic()
    while True:
        phase = (time.monotonic() - start) / 600.0 * 2 * math.pi  # a slow 10-minute "day"
        field = {
            "soil_moisture": round(32.0 + 2.0 * math.sin(phase) + rng.uniform(-0.2, 0.2), 1),
            "temperature": round(18.0 + 3.0 * math.sin(phase + 1.0) + rng.uniform(-0.1, 0.1), 1),
            "humidity": round(65.0 + 5.0 * math.sin(phase + 2.0), 1),
        }
        truck = {"temperature": round(2.8 + 0.6 * math.sin(phase * 3) + rng.uniform(-0.1, 0.1), 1)}
        for device_id, values in ((FIELD[0], field), (TRUCK[0], truck)):
            try:
                await hub.ingest(device_id, None, None, values, trusted=True)
            except Exception:
                logger.exception("simulated reading refused")
        await asyncio.sleep(period_s)
