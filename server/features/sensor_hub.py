"""Where readings arrive (MQTT bridge, HTTP, the demo simulator): checked, cached for the live
panel, written in batches (raw + 5-minute rollups), and handed to the cold-chain rules."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any

from ..domain.sensors.devices import Device, UnknownDevice, new_device
from ..domain.sensors.readings import QUANTITIES, Reading, check_reading
from ..domain.trace.batches import Batch, ColdChainBand
from ..persistence.trace_sensors import SqlSensorStore

logger = logging.getLogger(__name__)

FLUSH_S = 0.05  # readings wait at most this long before they are stored together
MAX_BATCH = 5000
MAX_POINTS = 360


def _resolve(future: asyncio.Future[None], _: object) -> None:
    if not future.done():
        future.set_result(None)


class SensorHub:
    def __init__(self, store: SqlSensorStore, raw_retention: timedelta, clock: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        self.store = store
        self.raw_retention = raw_retention
        self.clock = clock
        self.devices: dict[str, Device] = {}
        self.latest: dict[str, Reading] = {}
        self.listeners: list[Callable[[list[Reading]], Awaitable[None]]] = []
        self.stored = 0
        self.refused = 0
        self._queue: list[Reading] = []
        self._done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._writing: asyncio.Future[None] | None = None  # the flush under way's
        self._wake = asyncio.Event()
        self._refreshed = 0.0
        self._closing = False
        self._tasks: list[asyncio.Task[None]] = []

    async def start(self) -> None:
        self.devices = await self.store.devices()
        self._tasks = [asyncio.ensure_future(self._writer()), asyncio.ensure_future(self._housekeeping())]

    async def close(self) -> None:
        # The writer is never cancelled mid-transaction: it finishes its flush and stops.
        self._closing = True
        self._wake.set()
        _, housekeeping = self._tasks or (None, None)
        if housekeeping is not None:
            housekeeping.cancel()
        await asyncio.gather(*(t for t in self._tasks if t is not None), return_exceptions=True)
        self._tasks = []
        await self._flush()

    # -- devices --------------------------------------------------------------------------------

    async def add_device(self, device_id: str, name: str, kind: str, simulated: bool = False) -> tuple[Device, str]:
        device, token = new_device(device_id, name, kind, self.clock(), simulated)
        await self.store.add_device(device)
        self.devices[device.id] = device
        return device, token

    async def revoke(self, device_id: str) -> None:
        if not await self.store.revoke(device_id):
            raise UnknownDevice(f"no device {device_id!r}")
        await self._refresh(force=True)

    async def _refresh(self, force: bool = False) -> None:
        # Another node may have added or revoked a device: look again, at most once a second.
        if force or time.monotonic() - self._refreshed > 1.0:
            self._refreshed = time.monotonic()
            self.devices = await self.store.devices()

    async def device(self, device_id: str) -> Device:
        device = self.devices.get(device_id)
        if device is None:
            await self._refresh()
            device = self.devices.get(device_id)
        if device is None:
            raise UnknownDevice(f"no device {device_id[:40]!r}")
        return device

    # -- readings -------------------------------------------------------------------------------

    async def ingest(self, device_id: str, token: str | None, at: datetime | None, values: dict[str, float],
                     *, trusted: bool = False) -> Reading:
        """Check and queue one reading; raises a DomainError (unknown device, bad token, impossible or out of order)."""
        if device_id not in self.devices:
            await self._refresh()
        return self.accept(device_id, token, at, values, trusted=trusted)

    def accept(self, device_id: str, token: str | None, at: datetime | None, values: dict[str, float],
               *, trusted: bool = False) -> Reading:
        """`ingest` without touching the database: for callers that looked the devices up already
        (`known`). `committed()` then says when this reading is in the database."""
        device = self.devices.get(device_id)
        if device is None:
            raise UnknownDevice(f"no device {device_id[:40]!r}")
        try:
            if not trusted:
                device.check(token)
            last = self.latest.get(device_id)
            now = self.clock()
            reading = check_reading(device_id, at or now, values, last.at if last else None, now)
        except Exception:
            self.refused += 1
            raise
        self.latest[device_id] = reading
        self._queue.append(reading)
        if len(self._queue) >= MAX_BATCH or len(self._queue) == 1:
            self._wake.set()
        return reading

    async def known(self, device_ids: set[str]) -> None:
        """Look again (at most once a second) if any of these devices is not known here yet."""
        if not device_ids <= self.devices.keys():
            await self._refresh()

    def committed(self) -> asyncio.Future[None] | None:
        """Done once every reading accepted so far is committed (None: nothing is waiting).

        Group commit: readings wait at most FLUSH_S and are written in one transaction, and the
        callers that must answer only after storing (MQTT acks, HTTP replies) wait on this."""
        if self._queue:
            return self._done
        return self._writing

    async def _writer(self) -> None:
        while not self._closing:
            await self._wake.wait()
            if not self._closing:
                await asyncio.sleep(FLUSH_S)  # let a burst gather into one transaction
            self._wake.clear()
            try:
                await self._flush()
            except Exception:
                logger.exception("storing sensor readings failed; retrying")
                await asyncio.sleep(1.0)
                self._wake.set()

    async def _flush(self) -> None:
        loop = asyncio.get_running_loop()
        while self._queue:
            queue, done = self._queue, self._done
            self._queue, self._done, self._writing = [], loop.create_future(), done
            written = 0
            try:
                for i in range(0, len(queue), MAX_BATCH):
                    batch = queue[i : i + MAX_BATCH]
                    await self.store.store(batch)
                    written += len(batch)
                    self.stored += len(batch)
                    for listener in self.listeners:
                        try:
                            await listener(batch)
                        except Exception:
                            logger.exception("sensor listener failed")
            except BaseException:
                # Nothing accepted is lost: what was not written goes back to the front, and
                # whoever waits for it waits on until a later flush writes it.
                later = self._done
                self._queue = queue[written:] + self._queue
                self._done, self._writing = done, None
                done.add_done_callback(partial(_resolve, later))
                raise
            self._writing = None
            done.set_result(None)

    async def _housekeeping(self) -> None:
        while True:
            await asyncio.sleep(600)
            try:
                pruned = await self.store.prune(self.clock() - self.raw_retention)
                if pruned:
                    logger.info("pruned %d raw sensor readings (history stays in 5-minute buckets)", pruned)
            except Exception:
                logger.exception("pruning sensor readings failed")

    async def current(self, device_ids: list[str]) -> dict[str, Reading]:
        """Latest readings: this node's cache, or the database for devices reporting to other nodes."""
        out = {d: self.latest[d] for d in device_ids if d in self.latest}
        missing = [d for d in device_ids if d not in out]
        if missing:
            out.update(await self.store.latest(missing))
        return out

    async def series(self, device_id: str, quantity: str, since: datetime, until: datetime) -> list[list[float]]:
        """[[epoch ms, value], ...]: raw readings for recent windows, 5-minute means for longer ones."""
        span = until - since
        if span <= timedelta(hours=6) and since >= self.clock() - self.raw_retention:
            raw = await self.store.raw(device_id, since, until)
            points = [[r.at.timestamp() * 1000, r.values[quantity]] for r in raw if quantity in r.values]
            step = max(1, len(points) // MAX_POINTS)
            return points[::step]
        buckets = await self.store.rollups(device_id, since, until)
        points = [[b.timestamp() * 1000 + 150_000, v[quantity][1]] for b, v in buckets if quantity in v]
        step = max(1, len(points) // MAX_POINTS)
        return points[::step]

    async def history_for_batch(self, batch: Batch, band: ColdChainBand | None) -> list[dict[str, Any]]:
        assert batch.id is not None
        out = []
        for link in await self.store.links(batch_id=batch.id):
            device = self.devices.get(link.device_id)
            if device is None:
                continue
            until = link.until or self.clock()
            for quantity in ("temperature", "humidity", "soil_moisture"):
                points = await self.series(link.device_id, quantity, link.since, until)
                if points:
                    out.append({"device": device.id, "name": device.name, "quantity": quantity,
                                "unit": QUANTITIES[quantity][0], "simulated": device.simulated, "points": points})
        return out
