"""The trace feature: EPCIS capture, the signed Merkle log, trace pages and QR labels, sensors over
MQTT/HTTP with the on-stream panel, and cold-chain alerts. `setup(app)` is its one entry in FEATURES.
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ProcessPoolExecutor
from datetime import timedelta
from typing import Any, TypeVar
from urllib.parse import quote, urlsplit

from aiohttp import web

from ..domain.accounts.roles import Role
from ..domain.errors import Unauthorized
from ..domain.sensors.anomalies import BatchOrders, Notice
from ..domain.trace.batches import Batch
from ..domain.trace.checkpoints import NoteSigner
from ..domain.trace.service import TraceService
from ..http import epcis as epcis_http
from ..http import sensors as sensors_http
from ..http import trace as trace_http
from ..http.keys import DATABASE, MEDIA, REALTIME, ROOMS, SETTINGS
from ..http.trace_keys import COLD_CHAIN, MQTT, PHOTOS, SENSORS, TRACE, TRACE_OVERLAY
from ..integrations import sensor_simulator
from ..integrations.mqtt_bridge import MqttBridge
from ..integrations.mqtt_bridge import client_id as mqtt_client_id
from ..persistence.accounts import server_secret
from ..persistence.trace_catalog import SqlTraceCatalog
from ..persistence.trace_coldchain import SqlBatchOrders, SqlColdChainStore
from ..persistence.trace_log import SqlTraceLog
from ..persistence.trace_photos import SqlPhotoStore
from ..persistence.trace_sensors import SqlSensorStore
from ..realtime import trace_events
from ..realtime.server import Client
from .cold_chain import ColdChain
from .sensor_hub import SensorHub
from .trace_overlay import TraceOverlay

logger = logging.getLogger(__name__)
T = TypeVar("T")

SIGNING_KEY_SECRET = "trace-log-ed25519"
# Which orders hold a batch; tests may put their own BatchOrders here before the app starts.
BATCH_ORDERS: web.AppKey[BatchOrders] = web.AppKey("batch_orders")


def log_origin(configured: str, public_url: str, signer_key_hash: bytes) -> str:
    if configured:
        return configured
    host = urlsplit(public_url).netloc if public_url else ""
    return f"{host or 'fieldcast'}/trace/{signer_key_hash.hex()}"


async def _trace(app: web.Application) -> AsyncIterator[None]:
    db = app[DATABASE]
    settings = app[SETTINGS]
    # 32 random bytes made on first start and kept: the Ed25519 seed of the log's signing key.
    seed = await server_secret(db, SIGNING_KEY_SECRET)
    origin = log_origin(settings.trace_log_origin, settings.public_url, NoteSigner("fieldcast", seed).key_hash)
    signer = NoteSigner(origin, seed)
    log = SqlTraceLog(db)
    log.start()  # the tree into memory, in the background
    # Big EPCIS documents are checked and hashed in a worker process (started at the first one):
    # off the event loop, and on the other core. Spawned, not forked: this process runs media threads.
    pool = ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn"))
    loop = asyncio.get_running_loop()

    async def in_worker(fn: Callable[..., T], *args: Any) -> T:
        return await loop.run_in_executor(pool, fn, *args)

    app[TRACE] = TraceService(SqlTraceCatalog(db), log, signer, origin, run_blocking=in_worker)
    app[PHOTOS] = SqlPhotoStore(db)
    logger.info("trace log %s (verifier key %s)", origin, signer.verifier_key)
    yield
    await log.close()
    await asyncio.to_thread(pool.shutdown, wait=True, cancel_futures=True)


async def _sensors(app: web.Application) -> AsyncIterator[None]:
    db = app[DATABASE]
    settings = app[SETTINGS]
    store = SqlSensorStore(db)
    hub = SensorHub(store, timedelta(hours=settings.sensor_raw_retention_hours))
    await hub.start()
    app[SENSORS] = hub

    async def notify(notice: Notice, batch: Batch) -> None:
        await app[REALTIME].sio.emit(trace_events.BREACH_NOTICE, breach_payload(app, notice, batch),
                                     room=trace_events.user_room(notice.user_id))

    orders = app.get(BATCH_ORDERS) or SqlBatchOrders(db)
    cold = ColdChain(app[TRACE], hub, store, SqlColdChainStore(db), orders, notify)
    await cold.start()
    app[COLD_CHAIN] = cold

    overlay = TraceOverlay(hub, store, app[MEDIA].rooms, settings.base_url(), settings.sensor_stale_s)
    await overlay.start()
    app[MEDIA].on_room_open.append(overlay.install)
    app[TRACE_OVERLAY] = overlay

    tasks: list[asyncio.Task[None]] = []
    bridge = None
    if settings.mqtt_url:
        bridge = MqttBridge(hub, settings.mqtt_url, settings.mqtt_topic_prefix, shared=bool(settings.redis_url),
                            client=mqtt_client_id(settings.mqtt_topic_prefix, settings.port))
        bridge.start()
        app[MQTT] = bridge
    elif any(r.demo_source for r in await app[ROOMS].list()):
        # The embedded default: a simulated field and truck for the demo room, labelled simulated.
        tasks.append(asyncio.ensure_future(sensor_simulator.run(hub)))
    yield
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    if bridge is not None:
        await bridge.close()
    await overlay.close()
    await hub.close()


def breach_payload(app: web.Application, notice: Notice, batch: Batch) -> dict[str, Any]:
    assert notice.id is not None
    return trace_events.BreachNotice(
        notice_id=notice.id, order_id=notice.order_id, gtin=batch.gtin, lot=batch.lot, product=batch.product_name,
        message=notice.message_zh, offer=notice.offer_zh, message_en=notice.message_en, offer_en=notice.offer_en,
        trace_url=f"/01/{batch.gtin}/10/{quote(batch.lot, safe='')}", breach_at=notice.created_at.isoformat(),
    ).model_dump()


def _realtime(app: web.Application) -> None:
    realtime = app[REALTIME]

    @realtime.on(trace_events.SUBSCRIBE, None, role=Role.VIEWER)
    async def subscribe(client: Client, _payload: None) -> dict[str, Any]:
        # A buyer's own room: breach notices for their orders arrive here, on every node.
        if client.user_id is None:
            raise Unauthorized("sign in to receive notices about your orders")
        await realtime.sio.enter_room(client.sid, trace_events.user_room(client.user_id))
        return {"ok": True}


def setup(app: web.Application) -> None:
    app.add_routes(epcis_http.routes)
    app.add_routes(trace_http.routes)
    app.add_routes(sensors_http.routes)
    app.cleanup_ctx.append(_trace)
    app.cleanup_ctx.append(_sensors)
    _realtime(app)
