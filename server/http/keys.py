"""Typed Application keys: the app's state, no singletons."""

from __future__ import annotations

from typing import TYPE_CHECKING

from aiohttp import web

from streams.manager import MediaServer

from ..config import Settings
from ..domain.accounts.grants import GrantService
from ..domain.accounts.identity import IdentityChanges
from ..domain.accounts.service import AccountService
from ..domain.ports import RoomRepository, TokenRepository
from ..persistence.db import Database

if TYPE_CHECKING:
    from ..realtime.server import Realtime

SETTINGS = web.AppKey("settings", Settings)
DATABASE = web.AppKey("database", Database)
ROOMS = web.AppKey("rooms", RoomRepository)
TOKENS = web.AppKey("tokens", TokenRepository)
MEDIA = web.AppKey("media", MediaServer)
ACCOUNTS = web.AppKey("accounts", AccountService)
# Room-scoped grants (host/moderator of room X), and the versions that tell open connections
# when what a caller may do has changed.
GRANTS = web.AppKey("grants", GrantService)
IDENTITY = web.AppKey("identity", IdentityChanges)
# Signs cookies and CSRF tokens; made on first start and kept in the database.
SECRET = web.AppKey("secret", bytes)
# The Socket.IO server (typed lazily: the realtime package itself reads keys from here).
REALTIME: web.AppKey[Realtime] = web.AppKey("realtime")
