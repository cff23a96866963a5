"""The trace feature: EPCIS capture, the signed Merkle log, trace pages and QR labels, sensors over
MQTT/HTTP with the on-stream panel, and cold-chain alerts. `setup(app)` is its one entry in FEATURES.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from urllib.parse import urlsplit

from aiohttp import web

from ..domain.trace.checkpoints import NoteSigner
from ..domain.trace.service import TraceService
from ..http import epcis as epcis_http
from ..http import trace as trace_http
from ..http.keys import DATABASE, SETTINGS
from ..http.trace_keys import PHOTOS, TRACE
from ..persistence.accounts import server_secret
from ..persistence.trace_catalog import SqlTraceCatalog
from ..persistence.trace_log import SqlTraceLog
from ..persistence.trace_photos import SqlPhotoStore

logger = logging.getLogger(__name__)

SIGNING_KEY_SECRET = "trace-log-ed25519"


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
    probe = NoteSigner("fieldcast", seed)
    origin = log_origin(settings.trace_log_origin, settings.public_url, probe.key_hash)
    signer = NoteSigner(origin, seed)
    app[TRACE] = TraceService(SqlTraceCatalog(db), SqlTraceLog(db), signer, origin)
    app[PHOTOS] = SqlPhotoStore(db)
    logger.info("trace log %s (key %s)", origin, signer.verifier_key)
    yield


def setup(app: web.Application) -> None:
    app.add_routes(epcis_http.routes)
    app.add_routes(trace_http.routes)
    app.cleanup_ctx.append(_trace)
