"""Cross-site writes refused: a state-changing /api/ request a browser sends from another site.

The session cookie is SameSite=Lax, but a plain HTML form on any site may still POST (sign-in
included, which is login CSRF: the victim's browser ends up in the attacker's account). Browsers
say where a request comes from (`Sec-Fetch-Site`, `Origin`) and pages cannot forge either; the
server answers 403 unless it is this site. Requests that carry neither (curl, OBS, server-to-server
calls, older clients) have no victim's browser behind them and go through.

Not checked: /api/webhooks/ (payment providers' servers, authenticated by a signature, never by a
cookie) and WHIP/WHEP (not under /api/: bearer stream keys or nothing, and players on other sites
must be able to call them). Requests with `Authorization: Bearer` are authenticated by that header
alone (http/auth.py ignores the cookie then), so another site's page that holds a token may write
with it (the CORS policy allows that); the sign-in routes are checked even so, since they set the
session cookie.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from urllib.parse import urlsplit

from aiohttp import web

from ..domain.errors import Forbidden
from .auth import bearer
from .keys import SETTINGS

logger = logging.getLogger(__name__)

_UNSAFE = frozenset({"POST", "PUT", "PATCH", "DELETE"})
_SIGN_IN = frozenset({"/api/auth/register", "/api/auth/login", "/api/auth/code", "/api/auth/code/verify"})
_NOT_CHECKED = ("/api/webhooks/",)
# What the browser says of the request's initiator: this origin, or the user themselves (typed URL,
# bookmark). "same-site" (a sibling subdomain) is another origin and is refused like "cross-site".
_OWN_SITE = frozenset({"same-origin", "none"})


def _origin_of(url: str) -> str:
    parts = urlsplit(url.strip())
    scheme, host, port = parts.scheme.lower(), (parts.hostname or "").lower(), parts.port
    if ":" in host:
        host = f"[{host}]"
    if port is None or (scheme, port) in (("http", 80), ("https", 443)):
        return f"{scheme}://{host}"
    return f"{scheme}://{host}:{port}"


def allowed_origin(request: web.Request) -> str:
    """This site as a browser names it: the configured public URL, else the request's own Host."""
    public_url = request.app[SETTINGS].public_url
    if public_url:
        return _origin_of(public_url)
    return _origin_of(f"{request.scheme}://{request.host}")


def cross_site_reason(request: web.Request) -> str | None:
    """Why this request is a cross-site one, or None when it is this site's (or not a browser's)."""
    fetch_site = request.headers.get("Sec-Fetch-Site", "").strip().lower()
    if fetch_site in _OWN_SITE:
        return None
    origin = request.headers.get("Origin")
    if origin is not None:
        own = allowed_origin(request)
        if origin.strip().lower() == "null" or _origin_of(origin) != own:
            return f"requests from {origin.strip()[:100]} may not change anything here (only from {own})"
        return None
    if fetch_site:
        return f"a {fetch_site} request may not change anything here"
    return None


def needs_origin_check(request: web.Request) -> bool:
    if request.method not in _UNSAFE or not request.path.startswith("/api/"):
        return False
    if request.path.startswith(_NOT_CHECKED):
        return False
    return request.path in _SIGN_IN or bearer(request) is None


@web.middleware
async def origin_middleware(
    request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
) -> web.StreamResponse:
    if needs_origin_check(request):
        reason = cross_site_reason(request)
        if reason is not None:
            logger.warning(
                "cross-site %s %s refused", request.method, request.path,
                extra={
                    "origin": request.headers.get("Origin", ""),
                    "fetch_site": request.headers.get("Sec-Fetch-Site", ""),
                },
            )
            raise Forbidden(reason)
    return await handler(request)
