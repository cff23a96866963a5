"""What the WHIP and WHEP handlers share: reading an SDP body, answering, OPTIONS and PATCH."""

from __future__ import annotations

from aiohttp import web

from streams.errors import BadOffer
from streams.ice import link_headers
from streams.peer import PeerSession

from ..media import ice_options
from .keys import SETTINGS

MAX_SDP_BYTES = 64 * 1024


async def read_sdp(request: web.Request) -> str:
    ctype = request.content_type
    if ctype != "application/sdp":
        raise BadOffer(f"Content-Type must be application/sdp, not {ctype or 'nothing'}")
    if request.content_length is not None and request.content_length > MAX_SDP_BYTES:
        raise BadOffer("the SDP offer is too large")
    body = await request.content.read(MAX_SDP_BYTES + 1)
    if len(body) > MAX_SDP_BYTES:
        raise BadOffer("the SDP offer is too large")
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise BadOffer("the SDP offer is not UTF-8 text") from exc


def created(request: web.Request, session: PeerSession, answer: str, base: str) -> web.Response:
    headers = {
        "Location": f"{base}/{session.id}",
        "ETag": f'"{session.id}"',
        "Accept-Patch": "application/trickle-ice-sdpfrag",
    }
    response = web.Response(status=201, text=answer, content_type="application/sdp", headers=headers)
    for link in link_headers(ice_options(request.app[SETTINGS])):
        response.headers.add("Link", link)
    return response


def options_response(request: web.Request) -> web.Response:
    response = web.Response(status=204, headers={"Accept-Post": "application/sdp"})
    for link in link_headers(ice_options(request.app[SETTINGS])):
        response.headers.add("Link", link)
    return response


async def patch_session(request: web.Request, session: PeerSession) -> web.Response:
    if request.content_type != "application/trickle-ice-sdpfrag":
        raise web.HTTPUnsupportedMediaType(
            text="PATCH takes application/trickle-ice-sdpfrag", content_type="text/plain"
        )
    await session.patch(await request.text())
    return web.Response(status=204)
