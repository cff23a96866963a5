"""A deadline for reading each request body, so a client cannot hold a connection open by sending
its body one byte every few seconds.

aiohttp bounds the request head itself: its keep-alive timer (`keepalive_timeout`, set from
Settings.http_header_timeout_s where the server starts) closes a connection that has not completed
a request head that long after opening or after its previous response. Nothing in aiohttp bounds
the body once the head is in, so this middleware does: when the deadline passes with the body still
incomplete, the body stream fails, whoever is reading it gets BodyTimeout, and the client a 408.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from aiohttp import web

from .auth import client_ip
from .errors import error_response
from .keys import SETTINGS

logger = logging.getLogger(__name__)


class BodyTimeout(Exception):
    """The request body did not arrive within the deadline."""


def _expire(request: web.Request, seconds: float) -> None:
    if not request.content.is_eof():
        request.content.set_exception(BodyTimeout(f"the request body did not arrive within {seconds:g} s"))


@web.middleware
async def body_deadline_middleware(
    request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
) -> web.StreamResponse:
    if not request.body_exists or request.content.is_eof():
        return await handler(request)
    seconds = request.app[SETTINGS].http_body_timeout_s
    timer = asyncio.get_running_loop().call_later(seconds, _expire, request, seconds)
    try:
        return await handler(request)
    except BodyTimeout as exc:
        logger.warning("%s %s from %s: %s", request.method, request.path, client_ip(request), exc,
                       extra={"status": 408})
        response = error_response(408, "body_timeout", str(exc))
        response.force_close()  # the rest of a body that slow is not worth waiting for
        return response
    finally:
        timer.cancel()
