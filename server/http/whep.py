"""WHEP: POST an offer to watch a room. Viewers need no credentials; the session URL is the secret."""

from __future__ import annotations

from aiohttp import web

from ..media import load_room, open_live_room
from .auth import client_ip
from .keys import MEDIA
from .sdp_common import created, options_response, patch_session, read_sdp

routes = web.RouteTableDef()


@routes.options("/whep/{room_id}")
async def whep_options(request: web.Request) -> web.Response:
    return options_response(request)


@routes.post("/whep/{room_id}")
async def whep_watch(request: web.Request) -> web.Response:
    room = await load_room(request.app, request.match_info["room_id"])
    offer = await read_sdp(request)
    live = await open_live_room(request.app, room)
    session, answer = await request.app[MEDIA].watch(live, offer, client_ip(request))
    return created(request, session, answer, f"/whep/{room.id}")


@routes.options("/whep/{room_id}/{session_id}")
async def whep_session_options(request: web.Request) -> web.Response:
    return web.Response(status=204, headers={"Accept-Patch": "application/trickle-ice-sdpfrag"})


@routes.patch("/whep/{room_id}/{session_id}")
async def whep_patch(request: web.Request) -> web.Response:
    session = request.app[MEDIA].session(
        request.match_info["room_id"], request.match_info["session_id"], "whep"
    )
    return await patch_session(request, session)


@routes.delete("/whep/{room_id}/{session_id}")
async def whep_stop(request: web.Request) -> web.Response:
    session = request.app[MEDIA].session(
        request.match_info["room_id"], request.match_info["session_id"], "whep"
    )
    await session.close()
    return web.Response(status=200)
