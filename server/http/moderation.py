"""The moderation log over HTTP, for moderators, hosts and operators (session or API token)."""

from __future__ import annotations

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field

from ..domain.accounts.roles import Role
from ..domain.voice.moderation import Actor
from ..media import load_room
from ..realtime.chat_events import entry_public
from .auth import require_room_role
from .chat_keys import MODERATION
from .params import QueryId

routes = web.RouteTableDef()


class LogQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")
    limit: int = Field(default=50, ge=1, le=200)
    before: QueryId | None = None


@routes.get("/api/rooms/{room_id}/moderation-log")
async def moderation_log(request: web.Request) -> web.Response:
    room = await load_room(request.app, request.match_info["room_id"])
    who = await require_room_role(request, room.id, Role.MODERATOR)
    query = LogQuery.model_validate(dict(request.query))
    actor = Actor(who.user.id if who.user else None, who.user.nickname if who.user else who.label, who.role_in(room.id))
    entries = await request.app[MODERATION].log(actor, room.id, query.limit, query.before)
    return web.json_response({"room": room.id, "entries": [entry_public(e) for e in entries]})
