"""EPCIS 2.0 REST capture: `POST /api/epcis/capture` (a document) and `POST /api/epcis/events` (one event).

Capture is all-or-nothing ("rollback" capture error behaviour): a document with one bad event logs
none of them, and says which event and why. Farm staff (host role) and API tokens may capture.
"""

from __future__ import annotations

import logging
from urllib.parse import quote, unquote

from aiohttp import web

from ..domain.accounts.roles import Role
from ..domain.trace.epcis import document, iso
from .auth import require_role
from .body import read_json
from .trace_keys import TRACE

logger = logging.getLogger(__name__)
routes = web.RouteTableDef()

EPCIS_HEADERS = {"GS1-EPCIS-Version": "2.0.0", "GS1-CBV-Version": "2.0.0"}


@routes.post("/api/epcis/capture")
async def capture_document(request: web.Request) -> web.Response:
    who = await require_role(request, Role.HOST)
    captured = await request.app[TRACE].capture(await read_json(request))
    logger.info("EPCIS capture of %d events by %s", len(captured), who.label)
    body = {
        "success": True,
        "captureErrorBehaviour": "rollback",
        "eventIDs": [c.event_id for c in captured],
        "logIndexes": [c.seq for c in captured],
        "new": [c.new for c in captured],
    }
    return web.json_response(body, status=201, headers=EPCIS_HEADERS)


@routes.post("/api/epcis/events")
async def capture_event(request: web.Request) -> web.Response:
    who = await require_role(request, Role.HOST)
    payload = await read_json(request)
    if isinstance(payload, dict) and payload.get("type") == "EPCISDocument":
        from ..domain.trace.event_hash import BadEvent

        raise BadEvent("POST /api/epcis/events takes one event; send documents to /api/epcis/capture")
    (captured,) = await request.app[TRACE].capture(payload)
    logger.info("EPCIS event captured by %s", who.label, extra={"event": captured.event_id})
    location = f"/api/epcis/events/{quote(captured.event_id, safe='')}"
    return web.json_response(
        {"eventID": captured.event_id, "logIndex": captured.seq, "new": captured.new},
        status=201 if captured.new else 200,
        headers={**EPCIS_HEADERS, "Location": location},
    )


@routes.get("/api/epcis/events/{event_id}")
async def get_event(request: web.Request) -> web.Response:
    event_id = unquote(request.match_info["event_id"])
    service = request.app[TRACE]
    found = await service.log.find([(event_id, False), (event_id, True)])
    if not found:
        from ..domain.trace.service import UnknownEvent

        raise UnknownEvent(f"no logged event {event_id[:100]!r}")
    bodies = [e.body for e in sorted(found.values(), key=lambda e: e.seq)]
    return web.json_response(document(bodies, service.clock()), headers=EPCIS_HEADERS,
                             content_type="application/ld+json")


@routes.get("/api/trace/batches/{gtin}/{lot}/epcis")
async def export_batch(request: web.Request) -> web.Response:
    service = request.app[TRACE]
    batch = await service.batch(request.match_info["gtin"], request.match_info["lot"])
    assert batch.id is not None
    events = await service.log.events_of_batch(batch.id)
    out = document([e.body for e in events], service.clock())
    filename = f"epcis-{batch.gtin}-{quote(batch.lot, safe='')}-{iso(service.clock())[:10]}.jsonld"
    return web.json_response(out, headers={**EPCIS_HEADERS, "Content-Disposition": f'inline; filename="{filename}"'},
                             content_type="application/ld+json")
