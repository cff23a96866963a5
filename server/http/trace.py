"""Trace API and pages: products, batches, a batch's verifiable trail, the log's checkpoints and
proofs, QR labels, step photos, and the GS1 Digital Link `/01/{gtin}/10/{lot}` that opens the trace page.
"""

from __future__ import annotations

import asyncio
import base64
import logging
from typing import Literal
from urllib.parse import quote

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field

from ..domain.accounts.roles import Role
from ..domain.trace.batches import Batch, ColdChainBand
from ..domain.trace.identifiers import BadIdentifier, normalise_gtin
from ..domain.trace.labels import qr_png, qr_svg
from ..domain.trace.photos import BadPhoto, normalise_photo
from .auth import require_role
from .body import read_json
from .keys import SETTINGS
from .params import path_int, whole_number
from .trace_keys import PHOTOS, SENSORS, TRACE

logger = logging.getLogger(__name__)
routes = web.RouteTableDef()

MAX_PHOTO_BYTES = 8 * 1024 * 1024


class BandIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    quantity: Literal["temperature", "humidity"] = "temperature"
    low: float
    high: float
    max_minutes_outside: float = Field(default=30.0, ge=0, le=7 * 24 * 60)


class ProductIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    gtin: str = Field(min_length=8, max_length=14)
    name: str = Field(min_length=1, max_length=80)
    band: BandIn | None = None


class BatchIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    gtin: str = Field(min_length=8, max_length=14)
    lot: str = Field(min_length=1, max_length=20)
    farm: str = Field(default="", max_length=80)


def batch_public(request: web.Request, batch: Batch) -> dict[str, object]:
    return {
        "gtin": batch.gtin,
        "lot": batch.lot,
        "product": batch.product_name,
        "farm": batch.farm,
        "flagged": batch.flagged,
        "flag_reason": batch.flag_reason,
        "digital_link": public_base(request) + batch.digital_link_path,
        "path": batch.digital_link_path,
    }


def public_base(request: web.Request) -> str:
    """Where phones reach this server: the configured public URL, else the address this came to."""
    configured = request.app[SETTINGS].public_url
    return configured.rstrip("/") if configured else str(request.url.origin())


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


# -- products and batches -----------------------------------------------------------------------


@routes.post("/api/trace/products")
async def add_product(request: web.Request) -> web.Response:
    who = await require_role(request, Role.OPERATOR)
    body = ProductIn.model_validate(await read_json(request))
    band = None
    if body.band is not None:
        band = ColdChainBand(body.band.quantity, body.band.low, body.band.high, body.band.max_minutes_outside)
    product = await request.app[TRACE].add_product(body.gtin, body.name, band)
    logger.info("product %s registered by %s", product.gtin, who.label)
    return web.json_response({"gtin": product.gtin, "name": product.name,
                              "band": band.__dict__ if band else None}, status=201)


@routes.post("/api/trace/batches")
async def add_batch(request: web.Request) -> web.Response:
    who = await require_role(request, Role.HOST)
    body = BatchIn.model_validate(await read_json(request))
    batch = await request.app[TRACE].add_batch(body.gtin, body.lot, body.farm)
    logger.info("batch %s/%s registered by %s", batch.gtin, batch.lot, who.label)
    return web.json_response(batch_public(request, batch), status=201,
                             headers={"Location": f"/api/trace/batches/{batch.gtin}/{quote(batch.lot, safe='')}"})


@routes.get("/api/trace/batches")
async def list_batches(request: web.Request) -> web.Response:
    await require_role(request, Role.HOST)
    batches = await request.app[TRACE].catalog.list_batches()
    return web.json_response([batch_public(request, b) for b in batches])


@routes.get("/api/trace/batches/{gtin}/{lot}")
async def batch_trail(request: web.Request) -> web.Response:
    """Everything the trace page shows and verifies: events (exact stored text), proofs, checkpoint."""
    service = request.app[TRACE]
    batch = await service.batch(request.match_info["gtin"], request.match_info["lot"])
    trail = await service.trail(batch)
    product = await service.catalog.get_product(batch.gtin)
    band = product.band if product else None
    sensors = await request.app[SENSORS].history_for_batch(batch, band) if SENSORS in request.app else []
    checkpoint = trail.checkpoint
    return web.json_response({
        "batch": batch_public(request, batch),
        "log": log_public(request),
        "checkpoint": checkpoint.note if checkpoint else None,
        "events": [
            {"index": e.seq, "body": e.body, "proof": [b64(p) for p in proof]}
            for e, proof in zip(trail.events, trail.proofs)
        ],
        "band": band.__dict__ if band else None,
        "sensors": sensors,
    }, headers={"Cache-Control": "no-store"})


@routes.get("/api/trace/batches/{gtin}/{lot}/verify")
async def verify_batch(request: web.Request) -> web.Response:
    service = request.app[TRACE]
    batch = await service.batch(request.match_info["gtin"], request.match_info["lot"])
    verdict = await service.verify_batch(batch)
    return web.json_response({"verified": verdict.ok, "events": verdict.checked, "failures": verdict.failures})


# -- the log ------------------------------------------------------------------------------------


def log_public(request: web.Request) -> dict[str, object]:
    service = request.app[TRACE]
    return {
        "origin": service.origin,
        "verifier_key": service.signer.verifier_key,
        "public_key": b64(service.signer.public_key),
        "checkpoint_url": "/api/trace/checkpoint",
    }


@routes.get("/api/trace/log")
async def log_info(request: web.Request) -> web.Response:
    info = log_public(request)
    log = request.app[TRACE].log
    info["size"] = await log.size()
    info["proofs_from"] = log.state
    return web.json_response(info)


@routes.get("/api/trace/checkpoint")
async def latest_checkpoint(request: web.Request) -> web.Response:
    checkpoint = await request.app[TRACE].log.latest_checkpoint()
    if checkpoint is None:
        raise web.HTTPNotFound(text="the log is empty", content_type="text/plain")
    return web.Response(text=checkpoint.note, content_type="text/plain", headers={"Cache-Control": "no-cache"})


@routes.get("/api/trace/checkpoint/{size:\\d+}")
async def checkpoint_at(request: web.Request) -> web.Response:
    checkpoint = await request.app[TRACE].log.checkpoint(path_int(request, "size"))
    if checkpoint is None:
        raise web.HTTPNotFound(text="no checkpoint of that size", content_type="text/plain")
    return web.Response(text=checkpoint.note, content_type="text/plain",
                        headers={"Cache-Control": "public, max-age=31536000, immutable"})


def _int_query(request: web.Request, name: str) -> int:
    value = request.query.get(name, "")
    if not value.isdigit() or len(value) > 15:
        from ..domain.trace.merkle import BadProofRequest

        raise BadProofRequest(f"query parameter {name} must be a whole number")
    return int(value)


@routes.get("/api/trace/proof/consistency")
async def consistency(request: web.Request) -> web.Response:
    old, new = _int_query(request, "from"), _int_query(request, "to")
    proof = await request.app[TRACE].consistency(old, new)
    return web.json_response({"from": old, "to": new, "proof": [b64(p) for p in proof]})


@routes.get("/api/trace/proof/inclusion")
async def inclusion(request: web.Request) -> web.Response:
    from ..domain.trace import merkle

    index, size = _int_query(request, "index"), _int_query(request, "size")
    service = request.app[TRACE]
    if size > await service.log.size():
        raise merkle.BadProofRequest("the log is not that big yet")
    plan = merkle.inclusion_plan(index, size)
    proof = merkle.assemble(plan, await service.log.nodes(merkle.keys_of(plan)))
    return web.json_response({"index": index, "size": size, "proof": [b64(p) for p in proof]})


@routes.get("/api/trace/entries/{index:\\d+}")
async def entry(request: web.Request) -> web.Response:
    """A leaf's data exactly as hashed: anyone can recompute the leaf hash from these bytes."""
    index = path_int(request, "index")
    found = await request.app[TRACE].log.events([index])
    if not found:
        raise web.HTTPNotFound(text="no such entry", content_type="text/plain")
    return web.Response(body=found[0].body.encode(), content_type="application/ld+json", charset="utf-8")


# -- labels -------------------------------------------------------------------------------------


async def _batch_url(request: web.Request) -> tuple[Batch, str]:
    batch = await request.app[TRACE].batch(request.match_info["gtin"], request.match_info["lot"])
    return batch, public_base(request) + batch.digital_link_path


@routes.get("/api/trace/batches/{gtin}/{lot}/qr.png")
async def label_png(request: web.Request) -> web.Response:
    _, url = await _batch_url(request)
    size = request.query.get("size", "512")
    pixels = whole_number(size) or 512
    png = await asyncio.get_running_loop().run_in_executor(None, qr_png, url, max(64, min(pixels, 2048)))
    return web.Response(body=png, content_type="image/png", headers={"Cache-Control": "public, max-age=3600"})


@routes.get("/api/trace/batches/{gtin}/{lot}/qr.svg")
async def label_svg(request: web.Request) -> web.Response:
    _, url = await _batch_url(request)
    svg = await asyncio.get_running_loop().run_in_executor(None, qr_svg, url)
    return web.Response(body=svg, content_type="image/svg+xml", headers={"Cache-Control": "public, max-age=3600"})


# -- photos -------------------------------------------------------------------------------------


@routes.post("/api/trace/photos")
async def upload_photo(request: web.Request) -> web.Response:
    who = await require_role(request, Role.HOST)
    if request.content_length is not None and request.content_length > MAX_PHOTO_BYTES:
        raise BadPhoto("a photo may be at most 8 MiB")
    data = await request.read()
    if not data:
        raise BadPhoto("send the photo as the request body (image/jpeg, image/png or image/webp)")
    photo = await asyncio.get_running_loop().run_in_executor(None, normalise_photo, data)
    await request.app[PHOTOS].put(photo.sha256, "image/jpeg", photo.width, photo.height, photo.jpeg)
    logger.info("trace photo %s uploaded by %s", photo.sha256[:12], who.label)
    return web.json_response({"uri": photo.uri, "url": f"/api/trace/photos/{photo.sha256}",
                              "width": photo.width, "height": photo.height}, status=201)


@routes.get("/api/trace/photos/{sha256:[0-9a-f]{64}}")
async def get_photo(request: web.Request) -> web.Response:
    found = await request.app[PHOTOS].get(request.match_info["sha256"])
    if found is None:
        raise web.HTTPNotFound(text="no such photo", content_type="text/plain")
    content_type, data = found
    # Always served as an image (the store only ever holds re-encoded JPEGs), never sniffed as HTML.
    return web.Response(body=data, content_type=content_type if content_type.startswith("image/") else "image/jpeg",
                        headers={"Cache-Control": "public, max-age=31536000, immutable",
                                 "X-Content-Type-Options": "nosniff"})


# -- pages --------------------------------------------------------------------------------------


def _page(request: web.Request, name: str) -> web.FileResponse:
    response = web.FileResponse(request.app[SETTINGS].web_dir / name)
    response.headers["Cache-Control"] = "no-cache"
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


@routes.get("/01/{gtin:\\d{8,14}}/10/{lot}")
async def trace_page(request: web.Request) -> web.StreamResponse:
    """The batch's GS1 Digital Link: the trace page (a shorter GTIN is redirected to its 14 digits)."""
    gtin = request.match_info["gtin"]
    try:
        canonical = normalise_gtin(gtin)
    except BadIdentifier:
        return _page(request, "trace.html")  # the page itself says the link is wrong
    if canonical != gtin:
        raise web.HTTPMovedPermanently(f"/01/{canonical}/10/{quote(request.match_info['lot'], safe='')}")
    return _page(request, "trace.html")


@routes.get("/trace/capture")
async def capture_page(request: web.Request) -> web.StreamResponse:
    return _page(request, "capture.html")


@routes.get("/trace/labels/{gtin}/{lot}")
async def labels_page(request: web.Request) -> web.StreamResponse:
    return _page(request, "labels.html")
