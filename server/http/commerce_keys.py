"""App key of the commerce feature (typed lazily: the feature module imports the http modules)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from aiohttp import web

if TYPE_CHECKING:
    from ..features.commerce import Commerce

COMMERCE: web.AppKey[Commerce] = web.AppKey("commerce")
