"""CORS for the endpoints a page on another origin may call (WHIP/WHEP players, the public API)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from aiohttp import web

_PREFIXES = ("/whip/", "/whep/", "/api/")
ALLOW_HEADERS = "Authorization, Content-Type, If-Match, X-Fieldcast-Takeover"
EXPOSE_HEADERS = "Location, Link, ETag, Accept-Post, Accept-Patch, Retry-After"


def _cors_headers(request: web.Request) -> dict[str, str]:
    return {
        # Bearer tokens, never cookies, authenticate these routes, so any origin may call them.
        "Access-Control-Allow-Origin": "*",
        "Access-Control-Allow-Methods": "GET, POST, PATCH, DELETE, OPTIONS",
        "Access-Control-Allow-Headers": ALLOW_HEADERS,
        "Access-Control-Expose-Headers": EXPOSE_HEADERS,
        "Access-Control-Max-Age": "600",
    }


@web.middleware
async def cors_middleware(
    request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
) -> web.StreamResponse:
    if not request.path.startswith(_PREFIXES):
        return await handler(request)
    response = await handler(request)
    response.headers.update(_cors_headers(request))
    return response
