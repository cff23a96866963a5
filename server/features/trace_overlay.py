"""The trace layers on a live room: the sensor panel (devices the host chose) and the QR code of
the batch being shown. States are rebuilt once a second from the latest readings."""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime

from overlay.layers.qr_code import QrCode, QrCodeState
from overlay.layers.sensor_panel import SensorEntry, SensorPanel, SensorPanelState
from streams.room import LiveRoom

from ..domain.sensors.readings import LABELS_ZH, QUANTITIES, panel_entry
from ..domain.trace.labels import qr_matrix
from ..persistence.trace_sensors import RoomOverlay, SqlSensorStore
from .sensor_hub import SensorHub

logger = logging.getLogger(__name__)

PANEL = "sensor-panel"
QR = "trace-qr"
DEVICE_LABEL = {"truck": "冷链车", "store": "冷库", "field": ""}


class TraceOverlay:
    def __init__(self, hub: SensorHub, store: SqlSensorStore, rooms: dict[str, LiveRoom], base_url: str, stale_s: float) -> None:
        self.hub = hub
        self.store = store
        self.rooms = rooms
        self.base_url = base_url
        self.stale_s = stale_s
        self.choices: dict[str, RoomOverlay] = {}
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self.choices = await self.store.overlays()
        for room in list(self.rooms.values()):
            self.install(room)
        self._task = asyncio.ensure_future(self._tick())

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)

    def install(self, room: LiveRoom) -> None:
        if room.compositor.get(PANEL) is None:
            room.compositor.add(SensorPanel(PANEL, SensorPanelState(), z=15))
        if room.compositor.get(QR) is None:
            room.compositor.add(QrCode(QR, QrCodeState(), z=15))
        choice = self.choices.get(room.spec.room_id)
        if choice is not None:
            room.compositor_layer_state(QR, self.qr_state(choice))

    def qr_state(self, choice: RoomOverlay) -> QrCodeState:
        if not choice.gtin:
            return QrCodeState()
        from urllib.parse import quote

        url = f"{self.base_url}/01/{choice.gtin}/10/{quote(choice.lot, safe='')}"
        return QrCodeState(tuple(tuple(r) for r in qr_matrix(url)), "扫码看溯源", f"批次 {choice.lot}")

    async def choose(self, choice: RoomOverlay) -> None:
        await self.store.set_overlay(choice)
        self.choices[choice.room_id] = choice
        room = self.rooms.get(choice.room_id)
        if room is not None:
            self.install(room)
            room.compositor_layer_state(QR, await asyncio.get_running_loop().run_in_executor(None, self.qr_state, choice))
            await self.refresh(room.spec.room_id)

    async def panel_state(self, chosen: tuple[str, ...]) -> SensorPanelState:
        """`chosen`: panel entries, "device" (every quantity it reports) or "device:quantity"."""
        now = datetime.now(UTC)
        picks = [panel_entry(entry) for entry in chosen]
        latest = await self.hub.current(list(dict.fromkeys(d for d, _ in picks)))
        entries: list[SensorEntry] = []
        simulated = False
        for device_id, only in picks:
            device = self.hub.devices.get(device_id)
            if device is None:
                continue
            simulated = simulated or device.simulated
            reading = latest.get(device_id)
            prefix = DEVICE_LABEL.get(device.kind, "")
            if only is not None:
                quantities = [only]
            else:
                quantities = [q for q in QUANTITIES if reading and q in reading.values] or ["temperature"]
            for q in quantities:
                label = f"{prefix} {LABELS_ZH[q]}".strip()
                if reading is None or q not in reading.values:
                    entries.append(SensorEntry(label, "—", None, True))
                    continue
                age = max(0, int((now - reading.at).total_seconds()))
                value = f"{reading.values[q]:.1f}{QUANTITIES[q][0]}"
                entries.append(SensorEntry(label, value, age, age > self.stale_s))
        return SensorPanelState(tuple(entries[:4]), simulated)

    async def refresh(self, room_id: str) -> None:
        room = self.rooms.get(room_id)
        choice = self.choices.get(room_id)
        if room is None or choice is None:
            return
        room.compositor_layer_state(PANEL, await self.panel_state(choice.devices))

    async def _tick(self) -> None:
        while True:
            await asyncio.sleep(1.0)
            for room_id in list(self.rooms):
                try:
                    await self.refresh(room_id)
                except Exception:
                    logger.exception("sensor panel update failed", extra={"room": room_id})
