"""App keys of the trace, sensor and cold-chain feature."""

from __future__ import annotations

from typing import TYPE_CHECKING

from aiohttp import web

from ..domain.trace.service import TraceService

if TYPE_CHECKING:
    from ..features.cold_chain import ColdChain
    from ..features.sensor_hub import SensorHub
    from ..features.trace_overlay import TraceOverlay
    from ..integrations.mqtt_bridge import MqttBridge
    from ..persistence.trace_photos import SqlPhotoStore

TRACE = web.AppKey("trace", TraceService)
PHOTOS: web.AppKey[SqlPhotoStore] = web.AppKey("trace_photos")
SENSORS: web.AppKey[SensorHub] = web.AppKey("sensors")
COLD_CHAIN: web.AppKey[ColdChain] = web.AppKey("cold_chain")
TRACE_OVERLAY: web.AppKey[TraceOverlay] = web.AppKey("trace_overlay")
MQTT: web.AppKey[MqttBridge] = web.AppKey("mqtt_bridge")
