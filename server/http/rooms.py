"""Rooms API: operators create, rename, rotate keys and delete; anyone may read a room's public face."""

from __future__ import annotations

import logging
from dataclasses import replace
from typing import Literal

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field

from ..domain.accounts.roles import Role
from ..domain.rooms import Orientation, Room, new_room, rotate_stream_key
from ..media import load_room
from .auth import require_role
from .body import read_json
from .keys import MEDIA, ROOMS

logger = logging.getLogger(__name__)
routes = web.RouteTableDef()


class RoomCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    id: str = Field(min_length=2, max_length=63)
    title: str = Field(min_length=1, max_length=120)
    brand: str = Field(default="", max_length=60)
    orientation: Literal["portrait", "landscape"] = "portrait"


class RoomUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    title: str | None = Field(default=None, min_length=1, max_length=120)
    brand: str | None = Field(default=None, max_length=60)


class RoomPublic(BaseModel):
    id: str
    title: str
    brand: str
    orientation: str
    width: int
    height: int
    live: bool  # on air: the host, or the demo camera (not the stand-by slate)
    publishing: bool  # a host is publishing right now
    viewers: int
    whep_url: str
    whip_url: str


def public_view(request: web.Request, room: Room) -> RoomPublic:
    live = request.app[MEDIA].rooms.get(room.id)
    width, height = room.size
    return RoomPublic(
        id=room.id,
        title=room.title,
        brand=room.brand,
        orientation=room.orientation.value,
        width=width,
        height=height,
        live=bool(live and live.on_air),
        publishing=bool(live and live.live),
        viewers=live.viewers if live else 0,
        whep_url=f"/whep/{room.id}",
        whip_url=f"/whip/{room.id}",
    )


@routes.get("/api/rooms")
async def list_rooms(request: web.Request) -> web.Response:
    await require_role(request, Role.OPERATOR)
    rooms = await request.app[ROOMS].list()
    return web.json_response([public_view(request, r).model_dump() for r in rooms])


@routes.post("/api/rooms")
async def create_room(request: web.Request) -> web.Response:
    who = await require_role(request, Role.OPERATOR)
    body = RoomCreate.model_validate(await read_json(request))
    room, key = new_room(body.id, body.title, brand=body.brand, orientation=Orientation(body.orientation))
    await request.app[ROOMS].add(room)
    logger.info("room created by %s", who.label, extra={"room": room.id})
    out = public_view(request, room).model_dump()
    out["stream_key"] = key  # shown once; only its hash is kept
    return web.json_response(out, status=201, headers={"Location": f"/api/rooms/{room.id}"})


@routes.get("/api/rooms/{room_id}")
async def get_room(request: web.Request) -> web.Response:
    room = await load_room(request.app, request.match_info["room_id"])
    return web.json_response(public_view(request, room).model_dump())


@routes.patch("/api/rooms/{room_id}")
async def update_room(request: web.Request) -> web.Response:
    await require_role(request, Role.OPERATOR)
    room = await load_room(request.app, request.match_info["room_id"])
    body = RoomUpdate.model_validate(await read_json(request))
    room = replace(
        room,
        title=body.title.strip() if body.title is not None else room.title,
        brand=body.brand.strip() if body.brand is not None else room.brand,
    )
    await request.app[ROOMS].save(room)
    live = request.app[MEDIA].rooms.get(room.id)
    if live is not None:
        live.retitle(room.title, room.brand)
    return web.json_response(public_view(request, room).model_dump())


@routes.post("/api/rooms/{room_id}/stream-key")
async def rotate_key(request: web.Request) -> web.Response:
    who = await require_role(request, Role.OPERATOR)
    room = await load_room(request.app, request.match_info["room_id"])
    room, key = rotate_stream_key(room)
    await request.app[ROOMS].save(room)
    # The old key stops working now, and whoever published with it is cut off.
    media = request.app[MEDIA]
    live = media.rooms.get(room.id)
    if live is not None and live.publisher:
        session = media.sessions.get(live.publisher)
        if session is not None:
            await session.close()
    logger.info("stream key rotated by %s", who.label, extra={"room": room.id})
    return web.json_response({"id": room.id, "stream_key": key})


@routes.delete("/api/rooms/{room_id}")
async def delete_room(request: web.Request) -> web.Response:
    await require_role(request, Role.OPERATOR)
    room_id = request.match_info["room_id"]
    await request.app[MEDIA].close_room(room_id)
    if not await request.app[ROOMS].delete(room_id):
        raise web.HTTPNotFound()
    return web.Response(status=204)


@routes.route("OPTIONS", "/api/{tail:.*}")
async def api_preflight(request: web.Request) -> web.Response:
    return web.Response(status=204)
