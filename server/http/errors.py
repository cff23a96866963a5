"""The one place errors become HTTP responses: `{"error": code, "message": text}` and a 4xx."""

from __future__ import annotations

import logging
import math
from collections.abc import Awaitable, Callable

from aiohttp import web
from pydantic import ValidationError

from streams.errors import (
    BadOffer,
    PublisherBusy,
    StreamError,
    TooManySessions,
    UnknownSession,
    UnsupportedPatch,
)

from ..domain.accounts.limits import TooManyAttempts
from ..domain.commerce.errors import IdempotencyKeyReused
from ..domain.errors import Conflict, DomainError, Forbidden, InvalidInput, NotFound, Unauthorized
from .body import UnsupportedMediaType

logger = logging.getLogger(__name__)

_STATUS: list[tuple[type[Exception], int]] = [
    (NotFound, 404),
    (UnknownSession, 404),
    (IdempotencyKeyReused, 422),
    (Conflict, 409),
    (PublisherBusy, 409),
    (TooManySessions, 429),
    (UnsupportedMediaType, 415),
    (InvalidInput, 400),
    (BadOffer, 400),
    (UnsupportedPatch, 422),
    (Unauthorized, 401),
    (Forbidden, 403),
    (TooManyAttempts, 429),
    (DomainError, 400),
    (StreamError, 400),
]


def error_response(status: int, code: str, message: str, **headers: str) -> web.Response:
    return web.json_response({"error": code, "message": message}, status=status, headers=headers)


def status_for(exc: Exception) -> int:
    for kind, status in _STATUS:
        if isinstance(exc, kind):
            return status
    return 500


@web.middleware
async def error_middleware(
    request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
) -> web.StreamResponse:
    try:
        return await handler(request)
    except (DomainError, StreamError) as exc:
        status = status_for(exc)
        logger.log(
            logging.INFO if getattr(exc, "expected", False) else logging.WARNING,
            "%s %s refused: %s", request.method, request.path, exc.message,
            extra={"status": status, "error": exc.code},
        )
        headers = {}
        if status == 401:
            headers["WWW-Authenticate"] = 'Bearer realm="fieldcast"'
        retry_after = getattr(exc, "retry_after", None)
        if isinstance(retry_after, int | float):
            # Whole seconds, rounded up: a client that waits exactly this long is let through.
            headers["Retry-After"] = str(math.ceil(retry_after))
            return web.json_response(
                {"error": exc.code, "message": exc.message, "retry_after": math.ceil(retry_after)},
                status=status, headers=headers,
            )
        return error_response(status, exc.code, exc.message, **headers)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first.get("loc", ())) or "body"
        message = f"{where}: {first.get('msg', 'invalid')}"
        logger.warning("%s %s invalid: %s", request.method, request.path, message, extra={"status": 422})
        return error_response(422, "invalid_input", message)
    except web.HTTPException as exc:
        if exc.status >= 400 and exc.content_type != "application/json":
            # aiohttp's own 404/405/413: keep the JSON shape the API promises.
            return error_response(exc.status, exc.reason.lower().replace(" ", "_"), exc.reason, **{
                k: v for k, v in exc.headers.items() if k.lower() in ("allow",)
            })
        raise
