"""The moderation log over HTTP, for moderators, hosts and operators (session or API token)."""

from __future__ import annotations

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field

from ..domain.errors import Unauthorized
from ..domain.voice.moderation import Actor
from ..media import load_room
from ..realtime.chat_events import entry_public
from .auth import caller
from .chat_keys import MODERATION
from .params import QueryId

routes = web.RouteTableDef()


class LogQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")
    limit: int = Field(default=50, ge=1, le=200)
    before: QueryId | None = None


@routes.get("/api/rooms/{room_id}/moderation-log")
async def moderation_log(request: web.Request) -> web.Response:
    who = await caller(request)
    if who.user is None and who.api_token is None:
        raise Unauthorized("sign in first (or send an API token: Authorization: Bearer <token>)")
    query = LogQuery.model_validate(dict(request.query))
    room = await load_room(request.app, request.match_info["room_id"])
    actor = Actor(who.user.id if who.user else None, who.user.nickname if who.user else who.label, who.role)
    entries = await request.app[MODERATION].log(actor, room.id, query.limit, query.before)
    return web.json_response({"room": room.id, "entries": [entry_public(e) for e in entries]})
