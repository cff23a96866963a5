"""Health: is the database answering, and how are the rooms doing."""

from __future__ import annotations

from aiohttp import web
from sqlalchemy import text

from .keys import DATABASE, MEDIA

routes = web.RouteTableDef()


@routes.get("/healthz")
async def health(request: web.Request) -> web.Response:
    try:
        async with request.app[DATABASE].session() as session:
            await session.execute(text("SELECT 1"))
        database = "ok"
    except Exception as exc:  # report, don't crash: a health check must always answer
        database = f"error: {exc.__class__.__name__}"
    media = request.app[MEDIA]
    rooms = {
        room_id: {
            "running": room.running,
            # The same words as GET /api/rooms/<id> and the presence event (streams/room.py Presence).
            "live": room.on_air,
            "publishing": room.live,
            "viewers": room.viewers,
            "frames_out": room.frames_out,
            "video_bytes_out": room.video_bytes_out,
        }
        for room_id, room in media.rooms.items()
    }
    ok = database == "ok" and all(r["running"] for r in rooms.values())
    return web.json_response(
        {"status": "ok" if ok else "degraded", "database": database, "rooms": rooms},
        status=200 if ok else 503,
    )
