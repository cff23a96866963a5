"""The demo farm's trust chain, so `fieldcast demo` shows it in the first minute: a batch of the
demo tomatoes with its journey in the signed log (harvest -> packing -> cold storage -> truck), the
simulated truck tied to it by an EPCIS AssociationEvent (its readings become the batch's cold-chain
record), and the room's QR layer and sensor panel showing that batch and the simulated sensors.

Made through the trace service, like any capture. The events' times are fixed by the batch's own
registration time, so a second start captures the very same events again, which the log already
holds (same event hash): nothing is duplicated, and a start that stopped half-way is completed.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from aiohttp import web

from ..domain.trace.batches import Batch, ColdChainBand
from ..domain.trace.epcis import EPCIS_CONTEXT, iso
from ..http.trace_keys import SENSORS, TRACE, TRACE_OVERLAY
from ..integrations import sensor_simulator
from ..persistence.trace_sensors import RoomOverlay

logger = logging.getLogger(__name__)

GTIN = "06901234567892"  # the demo shop's tomatoes (6901234567892 as a GTIN-14)
LOT = "QH-DEMO-01"
PRODUCT = "高山有机番茄"
FARM = "青禾农场"
FARM_GLN = "https://id.gs1.org/414/6901234000004"
COLD_STORE_GLN = "https://id.gs1.org/414/6901234000011"
# The simulated truck runs at about 2.8 °C: well inside a tomato-safe band, so no demo alarm.
BAND = ColdChainBand("temperature", 0.0, 8.0, 30.0)
# On the panel: the field probe's soil moisture and the truck's cabin temperature.
PANEL = (f"{sensor_simulator.FIELD[0]}:soil_moisture", f"{sensor_simulator.TRUCK[0]}:temperature")


def journey(batch: Batch, truck_uri: str) -> list[dict[str, Any]]:
    """The batch's journey as EPCIS 2.0 events, timed from when the batch was registered."""
    anchor = batch.created_at.replace(microsecond=0)
    uri = f"https://id.gs1.org/01/{batch.gtin}/10/{batch.lot}"

    def step(biz_step: str, before: timedelta, *, action: str = "OBSERVE", place: str = FARM_GLN,
             **extra: Any) -> dict[str, Any]:
        return {
            "type": "ObjectEvent", "eventTime": iso(anchor - before), "eventTimeZoneOffset": "+08:00",
            "action": action, "bizStep": biz_step,
            "quantityList": [{"epcClass": uri, "quantity": 120, "uom": "KGM"}],
            "readPoint": {"id": place}, **extra,
        }

    loaded = anchor - timedelta(hours=2)
    return [
        step("commissioning", timedelta(hours=26), action="ADD", **{"fieldcast:place": "青禾农场 3号大棚 · 清晨采摘"}),
        step("packing", timedelta(hours=24), **{"fieldcast:note": "清洗分拣 · 500g 装"}),
        step("storing", timedelta(hours=22), place=COLD_STORE_GLN, disposition="sellable_not_accessible",
             **{"fieldcast:place": "产地冷库 2-4°C"}),
        step("loading", timedelta(hours=2), disposition="in_transit", **{"fieldcast:place": "冷链车（模拟）装车"}),
        # The truck's sensor travels with the batch from loading on: its readings are the batch's.
        {"type": "AssociationEvent", "eventTime": iso(loaded), "eventTimeZoneOffset": "+08:00",
         "parentID": truck_uri, "action": "ADD", "bizStep": "loading",
         "childQuantityList": [{"epcClass": uri}]},
    ]


async def seed_demo_trace(app: web.Application, room_id: str) -> int:
    """Record the demo batch's journey and show it in the room; returns how many events were new."""
    trace = app[TRACE]
    hub = app[SENSORS]
    await sensor_simulator.ensure_devices(hub)
    if await trace.catalog.get_product(GTIN) is None:
        await trace.add_product(GTIN, PRODUCT, BAND)
    batch = await trace.catalog.get_batch(GTIN, LOT) or await trace.add_batch(GTIN, LOT, FARM)
    truck = await hub.device(sensor_simulator.TRUCK[0])
    captured = await trace.capture({
        "@context": [EPCIS_CONTEXT], "type": "EPCISDocument", "schemaVersion": "2.0",
        "creationDate": iso(batch.created_at), "epcisBody": {"eventList": journey(batch, truck.uri)},
    })
    new = sum(1 for c in captured if c.new)
    overlay = app[TRACE_OVERLAY]
    if room_id not in overlay.choices:  # a host's own choice survives a restart
        await overlay.choose(RoomOverlay(room_id, PANEL, batch.gtin, batch.lot))
    logger.info("demo batch %s/%s: %d new trace event(s)", batch.gtin, batch.lot, new, extra={"room": room_id})
    return new
