"""Cold-chain rules at work: readings from devices watching a batch advance its excursion; a breach
logs an EPCIS alarm event, flags the batch, finds the orders holding it and tells each buyer."""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

from ..domain.sensors.anomalies import BatchOrders, Notice, breach_event, describe_band
from ..domain.sensors.devices import device_id_from_uri
from ..domain.sensors.readings import Reading
from ..domain.sensors.thresholds import Excursion, advance
from ..domain.trace.batches import Batch, ColdChainBand
from ..domain.trace.epcis import EPCIS_CONTEXT, FIELDCAST_CONTEXT, iso
from ..domain.trace.identifiers import batch_of
from ..domain.trace.ports import LoggedEvent
from ..domain.trace.service import TraceService
from ..persistence.trace_coldchain import SqlColdChainStore
from ..persistence.trace_sensors import SqlSensorStore
from .sensor_hub import SensorHub

logger = logging.getLogger(__name__)

Notify = Callable[[Notice, Batch], Awaitable[None]]


class ColdChain:
    def __init__(self, trace: TraceService, hub: SensorHub, sensors: SqlSensorStore, store: SqlColdChainStore,
                 orders: BatchOrders, notify: Notify) -> None:
        self.trace = trace
        self.hub = hub
        self.sensors = sensors
        self.store = store
        self.orders = orders
        self.notify = notify
        self.excursions: dict[tuple[int, str], Excursion] = {}
        self._links: dict[str, list[tuple[int, datetime]]] = {}
        self._rules: dict[int, tuple[Batch, ColdChainBand | None]] = {}
        self._loaded = 0.0
        self.breaches = 0

    async def start(self) -> None:
        self.excursions = await self.store.excursions()
        await self._reload()
        self.hub.listeners.append(self.on_readings)
        self.trace.listeners.append(self.on_events)

    async def _reload(self) -> None:
        links = await self.sensors.active_links_by_device()
        self._links = {d: [(link.batch_id, link.since) for link in ls] for d, ls in links.items()}
        self._rules = {}
        self._loaded = time.monotonic()

    async def _rule(self, batch_id: int) -> tuple[Batch, ColdChainBand | None] | None:
        if batch_id not in self._rules:
            batch = await self.trace.catalog.get_batch_by_id(batch_id)
            if batch is None:
                return None
            product = await self.trace.catalog.get_product(batch.gtin)
            self._rules[batch_id] = (batch, product.band if product else None)
        return self._rules[batch_id]

    # -- sensors follow batches through AssociationEvents ---------------------------------------

    async def on_events(self, events: list[LoggedEvent]) -> None:
        import json

        changed = False
        for logged in events:
            if logged.event_type != "AssociationEvent" or logged.declares_error:
                continue
            event = json.loads(logged.body)
            device_id = device_id_from_uri(str(event.get("parentID", "")))
            if device_id is None:
                continue
            for q in event.get("childQuantityList") or []:
                key = batch_of(str(q.get("epcClass", "")))
                batch = (await self.trace.catalog.batches([key])).get(key) if key else None
                if batch is None or batch.id is None:
                    continue
                if event.get("action") == "ADD":
                    await self.sensors.link(batch.id, device_id, logged.event_time)
                elif event.get("action") == "DELETE":
                    await self.sensors.unlink(batch.id, device_id, logged.event_time)
                changed = True
        if changed:
            await self._reload()

    # -- readings advance excursions ------------------------------------------------------------

    async def on_readings(self, readings: list[Reading]) -> None:
        if time.monotonic() - self._loaded > 10.0:
            await self._reload()  # links made on other nodes
        changed: dict[tuple[int, str], Excursion] = {}
        breaches: list[tuple[Batch, ColdChainBand, Excursion, datetime]] = []
        for reading in readings:
            for batch_id, since in self._links.get(reading.device_id, ()):
                if reading.at < since:
                    continue
                rule = await self._rule(batch_id)
                if rule is None:
                    continue
                batch, band = rule
                if band is None or band.quantity not in reading.values:
                    continue
                key = (batch_id, reading.device_id)
                state = self.excursions.get(key) or Excursion(batch_id, reading.device_id)
                state, breached = advance(state, band, reading.at, reading.values[band.quantity])
                self.excursions[key] = changed[key] = state
                if breached:
                    breaches.append((batch, band, state, reading.at))
        if changed:
            await self.store.save_excursions(list(changed.values()))
        for batch, band, state, at in breaches:
            await self.breach(batch, band, state, at)

    async def breach(self, batch: Batch, band: ColdChainBand, state: Excursion, at: datetime) -> list[Notice]:
        assert batch.id is not None
        device = await self.hub.device(state.device_id)
        event = {"@context": [EPCIS_CONTEXT, FIELDCAST_CONTEXT], **breach_event(batch, device, band, state, at)}
        (captured,) = await self.trace.capture(event)
        reason = f"{describe_band(band)}: {state.minutes_outside:.0f} min outside, {state.last_value:g} at {iso(at)} ({device.name})"
        await self.trace.catalog.flag(batch.id, reason)
        self._rules.pop(batch.id, None)
        self.breaches += 1
        logger.warning("cold-chain breach", extra={"batch": f"{batch.gtin}/{batch.lot}", "device": device.id})
        policy = await self.store.policy()
        now = datetime.now(UTC)
        affected = await self.orders.orders_holding(batch)
        notices = await self.store.add_notices([
            Notice(None, batch.id, o.order_id, o.user_id, captured.event_id, policy.message_zh, policy.message_en,
                   policy.offer_zh(), policy.offer_en(), now)
            for o in affected
        ])
        for notice in notices:
            try:
                await self.notify(notice, batch)
            except Exception:
                logger.exception("could not notify buyer", extra={"order": notice.order_id})
        return notices
