"""The browser pages: viewer, studio, and the static files they use."""

from __future__ import annotations

from aiohttp import web

from ..media import load_room
from .keys import SETTINGS

routes = web.RouteTableDef()


def _page(request: web.Request, name: str) -> web.FileResponse:
    response = web.FileResponse(request.app[SETTINGS].web_dir / name)
    response.headers["Cache-Control"] = "no-cache"
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


@routes.get("/")
async def index(request: web.Request) -> web.StreamResponse:
    raise web.HTTPFound(f"/r/{request.app[SETTINGS].demo_room_id}")


@routes.get("/r/{room_id}")
async def viewer(request: web.Request) -> web.StreamResponse:
    await load_room(request.app, request.match_info["room_id"])
    return _page(request, "viewer.html")


@routes.get("/studio/{room_id}")
async def studio(request: web.Request) -> web.StreamResponse:
    await load_room(request.app, request.match_info["room_id"])
    return _page(request, "studio.html")
