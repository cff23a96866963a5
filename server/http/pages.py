"""The browser pages: viewer, studio, moderator console, operator's orders, and their static files."""

from __future__ import annotations

from aiohttp import web

from .keys import ROOMS, SETTINGS

routes = web.RouteTableDef()


def _page(request: web.Request, name: str, status: int = 200) -> web.FileResponse:
    response = web.FileResponse(request.app[SETTINGS].web_dir / name, status=status)
    response.headers["Cache-Control"] = "no-cache"
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


@routes.get("/")
async def index(request: web.Request) -> web.StreamResponse:
    raise web.HTTPFound(f"/r/{request.app[SETTINGS].demo_room_id}")


async def _room_page(request: web.Request, name: str) -> web.FileResponse:
    # An unknown room still gets the page (with a 404 status): it tells people, in their
    # language, that the link is wrong, instead of showing them raw JSON.
    exists = await request.app[ROOMS].get(request.match_info["room_id"]) is not None
    return _page(request, name, status=200 if exists else 404)


@routes.get("/r/{room_id}")
async def viewer(request: web.Request) -> web.StreamResponse:
    return await _room_page(request, "viewer.html")


@routes.get("/studio/{room_id}")
async def studio(request: web.Request) -> web.StreamResponse:
    return await _room_page(request, "studio.html")


@routes.get("/ops")
async def operator_orders(request: web.Request) -> web.StreamResponse:
    # Public like the console: the orders come from the API, which asks for the operator role.
    return _page(request, "ops.html")


@routes.get("/mod/{room_id}")
async def moderator_console(request: web.Request) -> web.StreamResponse:
    # The page is public on purpose: what it shows comes over Socket.IO, where every event checks
    # the caller's role; the page itself asks a stranger to sign in and tells a viewer why not.
    return await _room_page(request, "mod.html")
