"""Reading request bodies with a clear 400 when they are not what the route takes."""

from __future__ import annotations

from aiohttp import web

from ..domain.errors import InvalidInput


async def read_json(request: web.Request) -> object:
    try:
        return await request.json()
    except ValueError as exc:
        raise InvalidInput("the body must be JSON") from exc
