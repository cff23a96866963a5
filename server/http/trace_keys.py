"""App keys of the trace, sensor and cold-chain feature."""

from __future__ import annotations

from typing import TYPE_CHECKING

from aiohttp import web

from ..domain.trace.service import TraceService

if TYPE_CHECKING:
    from ..features.trace import SensorHub
    from ..persistence.trace_photos import SqlPhotoStore

TRACE = web.AppKey("trace", TraceService)
PHOTOS: web.AppKey[SqlPhotoStore] = web.AppKey("trace_photos")
SENSORS: web.AppKey[SensorHub] = web.AppKey("sensors")
