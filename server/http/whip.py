"""WHIP (RFC 9725): POST an offer with `Authorization: Bearer <stream key>` to publish into a room."""

from __future__ import annotations

import logging

from aiohttp import web

from ..domain.accounts.tokens import secret_matches
from ..domain.errors import Unauthorized
from ..domain.rooms import Room
from ..media import load_room, open_live_room
from .auth import bearer
from .keys import MEDIA
from .sdp_common import created, options_response, patch_session, read_sdp

logger = logging.getLogger(__name__)
routes = web.RouteTableDef()


def _check_key(request: web.Request, room: Room) -> None:
    key = bearer(request)
    if key is None:
        raise Unauthorized("publishing needs the room's stream key as a Bearer token")
    if not secret_matches(key, room.stream_key_hash):
        raise Unauthorized("wrong stream key for this room")


@routes.options("/whip/{room_id}")
async def whip_options(request: web.Request) -> web.Response:
    return options_response(request)


@routes.post("/whip/{room_id}")
async def whip_publish(request: web.Request) -> web.Response:
    room = await load_room(request.app, request.match_info["room_id"])
    _check_key(request, room)
    offer = await read_sdp(request)
    takeover = request.headers.get("X-Fieldcast-Takeover", "") in ("1", "true")
    live = await open_live_room(request.app, room)
    session, answer = await request.app[MEDIA].publish(live, offer, takeover=takeover)
    return created(request, session, answer, f"/whip/{room.id}")


@routes.options("/whip/{room_id}/{session_id}")
async def whip_session_options(request: web.Request) -> web.Response:
    return web.Response(status=204, headers={"Accept-Patch": "application/trickle-ice-sdpfrag"})


@routes.patch("/whip/{room_id}/{session_id}")
async def whip_patch(request: web.Request) -> web.Response:
    room = await load_room(request.app, request.match_info["room_id"])
    _check_key(request, room)
    session = request.app[MEDIA].session(room.id, request.match_info["session_id"], "whip")
    return await patch_session(request, session)


@routes.delete("/whip/{room_id}/{session_id}")
async def whip_stop(request: web.Request) -> web.Response:
    room = await load_room(request.app, request.match_info["room_id"])
    _check_key(request, room)
    session = request.app[MEDIA].session(room.id, request.match_info["session_id"], "whip")
    await session.close()
    return web.Response(status=200)
