"""Reading JSON request bodies, the one place every route's body is parsed.

Refused before any handler sees them, with a 4xx that says why:
- a body that is not declared `application/json` (or a `+json` type): 415. An HTML form can post
  text/plain, urlencoded or multipart across sites without asking; it cannot post JSON, so this is
  also what stops a page elsewhere from signing a browser in or placing orders as it (login CSRF);
- JSON nested deeper than MAX_DEPTH (json's own recursion would end in RecursionError, a 500);
- integers beyond +-MAX_INT (no database column holds them), NaN/Infinity, and strings with a lone
  surrogate (`"\\ud800"` parses, then fails when stored or sent as UTF-8): 400.
"""

from __future__ import annotations

import json
import logging

from aiohttp import web

from ..domain.errors import InvalidInput

logger = logging.getLogger(__name__)

MAX_DEPTH = 32
MAX_INT = 2**53 - 1  # what JavaScript keeps exactly; within SQLite's and PostgreSQL's 64-bit columns


class UnsupportedMediaType(InvalidInput):
    code = "unsupported_media_type"


def is_json_type(content_type: str) -> bool:
    return content_type == "application/json" or (
        content_type.startswith("application/") and content_type.endswith("+json")
    )


def _no_constants(name: str) -> object:
    raise ValueError(f"{name} is not a JSON number")


def _check_text(text: str) -> None:
    if not text.isascii():
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            raise InvalidInput("text in the JSON body is not valid Unicode (a lone surrogate)") from None


def check_bounds(value: object) -> None:
    """Refuse nesting deeper than MAX_DEPTH, integers beyond MAX_INT and unencodable text.
    Iterative, so a deep document costs no recursion here."""
    stack: list[tuple[object, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict | list):
            if depth > MAX_DEPTH:
                raise InvalidInput(f"the JSON body is nested too deeply (at most {MAX_DEPTH} levels)")
            if isinstance(item, dict):
                for key in item:
                    _check_text(key)
                stack.extend((child, depth + 1) for child in item.values())
            else:
                stack.extend((child, depth + 1) for child in item)
        elif isinstance(item, str):
            _check_text(item)
        elif isinstance(item, int) and not isinstance(item, bool) and abs(item) > MAX_INT:
            raise InvalidInput(f"a number in the JSON body is out of range (at most {MAX_INT})")


async def read_json(request: web.Request) -> object:
    if not is_json_type(request.content_type):
        declared = request.headers.get("Content-Type") or "nothing"
        raise UnsupportedMediaType(f"send the body as JSON with Content-Type: application/json, not {declared}")
    body = await request.read()
    try:
        value = json.loads(body, parse_constant=_no_constants)  # bytes: UTF-8 (or -16/-32) per RFC 8259
    except RecursionError as exc:  # deeper than the interpreter's own limit
        raise InvalidInput(f"the JSON body is nested too deeply (at most {MAX_DEPTH} levels)") from exc
    except ValueError as exc:  # also digits past int()'s limit on a huge number
        raise InvalidInput(f"the body must be JSON: {exc}") from exc
    check_bounds(value)
    return value
