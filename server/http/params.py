"""Whole numbers from the URL (path ids, query ids and sizes), bounded at the edge.

An id like 99999999999999999999999 is a valid Python int but no database column holds it, and a
few thousand digits make `int()` itself raise: either would be a 500. Ids are positive and at most
2**53 - 1 (what JavaScript keeps exactly, and within SQLite's and PostgreSQL's 64-bit integers).
"""

from __future__ import annotations

from typing import Annotated

from aiohttp import web
from pydantic import Field

from ..domain.errors import InvalidInput, NotFound

MAX_ID = 2**53 - 1
# An id in a query string (filters, paging): validated by the query's model, 422 beyond.
QueryId = Annotated[int, Field(ge=1, le=MAX_ID)]
_MAX_DIGITS = len(str(MAX_ID))


def whole_number(text: str, maximum: int = MAX_ID) -> int | None:
    """`text` as an int in 0..maximum, or None: ASCII digits only (int() also takes '١٢' and ' 7_0')."""
    if not text or not text.isascii() or not text.isdigit() or len(text.lstrip("0")) > _MAX_DIGITS:
        return None
    value = int(text)
    return value if value <= maximum else None


def path_int(request: web.Request, name: str) -> int:
    """The path segment `name` as an id. Not a number: 400; a number no row can have: 404."""
    raw = request.match_info[name]
    value = whole_number(raw)
    if value is not None:
        return value
    shown = raw if len(raw) <= 24 else raw[:24] + "..."
    if raw.isascii() and raw.isdigit():
        raise NotFound(f"no {name.removesuffix('_id')} {shown}")
    raise InvalidInput(f"{name} must be a number, not {shown!r}")
