"""create_app(settings) -> the aiohttp Application. Every resource is a cleanup context."""

from __future__ import annotations

import hashlib
import logging
from collections.abc import AsyncIterator, Callable

from aiohttp import web

from streams.manager import MediaServer

from .config import Settings
from .domain.accounts.grants import GrantService, Subject
from .domain.accounts.identity import (
    Change,
    IdentityChanges,
    IdentityVersions,
    MemoryIdentityVersions,
)
from .domain.accounts.limits import Limit, MemoryAttemptLimiter, SignInLimits
from .domain.accounts.ports import AttemptLimiter
from .domain.accounts.service import AccountService
from .features import chat as chat_feature
from .features import commerce as commerce_feature
from .features import identity as identity_feature
from .features import qa as qa_feature
from .features import testimonials as testimonials_feature
from .features import trace as trace_feature
from .http import accounts, health, pages, rooms, whep, whip
from .http.auth import session_middleware
from .http.cors import cors_middleware
from .http.errors import error_middleware
from .http.keys import (
    ACCOUNTS,
    DATABASE,
    GRANTS,
    IDENTITY,
    MEDIA,
    REALTIME,
    ROOMS,
    SECRET,
    SETTINGS,
    TOKENS,
)
from .http.origin import origin_middleware
from .http.timeouts import body_deadline_middleware
from .media import ice_options, open_live_room, whep_limits
from .persistence.accounts import (
    SqlInviteRepository,
    SqlLoginCodeRepository,
    SqlSessionRepository,
    SqlUserRepository,
    server_secret,
)
from .persistence.db import Database
from .persistence.grants import SqlGrantRepository
from .persistence.rooms import SqlRoomRepository
from .persistence.tokens import SqlTokenRepository
from .realtime.server import Realtime

logger = logging.getLogger(__name__)


# Each feature (chat, Q&A, commerce, trace, ...) is one `setup(app)`: it adds its routes, its
# cleanup contexts, its Socket.IO handlers (through app[REALTIME]) and its overlay layers (through
# app[MEDIA].on_room_open, once the media context has started).
FEATURES: list[Callable[[web.Application], None]] = [
    identity_feature.setup, commerce_feature.setup, chat_feature.setup, trace_feature.setup, qa_feature.setup,
    testimonials_feature.setup,
]


def sign_in_limits(settings: Settings) -> SignInLimits:
    def limit(tries: int) -> Limit:
        return Limit(tries, settings.signin_window_s, settings.signin_lock_s, settings.signin_max_lock_s)

    return SignInLimits(
        password_per_identifier=limit(settings.signin_password_tries),
        password_per_ip=limit(settings.signin_password_tries_per_ip),
        code_request_per_identifier=limit(settings.signin_codes_per_identifier),
        code_request_per_ip=limit(settings.signin_codes_per_ip),
        code_verify_per_identifier=limit(settings.signin_code_guesses),
        code_verify_per_ip=limit(settings.signin_code_guesses_per_ip),
    )


async def _identity(app: web.Application) -> AsyncIterator[None]:
    """Identity versions: in-process on one node; in Redis when nodes share it, so a sign-out on
    one node is seen by a socket on another."""
    redis_url = app[SETTINGS].redis_url
    redis = None
    versions: IdentityVersions
    if redis_url:
        from redis.asyncio import Redis

        from .persistence.identity_versions import RedisIdentityVersions

        redis = Redis.from_url(redis_url, driver_info=None)
        versions = RedisIdentityVersions(redis)
    else:
        versions = MemoryIdentityVersions()
    app[IDENTITY] = IdentityChanges(versions)
    yield
    if redis is not None:
        await redis.aclose()


async def _database(app: web.Application) -> AsyncIterator[None]:
    settings = app[SETTINGS]
    db = Database(settings.database_url)
    await db.create_schema()
    shared = None
    limiter: AttemptLimiter
    if settings.redis_url:
        from .persistence.accounts_limits import RedisAttemptLimiter

        # Sign-in counts hold across nodes only if the nodes share them. One namespace per
        # database: two deployments (or test runs) sharing a Redis count apart.
        namespace = hashlib.sha1(settings.database_url.encode()).hexdigest()[:10]
        limiter = shared = RedisAttemptLimiter.from_url(settings.redis_url, prefix=f"fieldcast:signin:{namespace}:")
    else:
        limiter = MemoryAttemptLimiter()
    identity = app[IDENTITY]

    async def grants_changed(subject: Subject, lost: bool) -> None:
        await identity.changed(subject, Change.GRANT_REMOVED if lost else Change.GRANT_ADDED)

    app[DATABASE] = db
    app[ROOMS] = SqlRoomRepository(db)
    app[TOKENS] = SqlTokenRepository(db)
    grants = SqlGrantRepository(db)
    app[GRANTS] = GrantService(grants, changed=grants_changed)
    app[SECRET] = await server_secret(db, "cookies")
    app[ACCOUNTS] = AccountService(
        SqlUserRepository(db),
        SqlSessionRepository(db),
        SqlLoginCodeRepository(db),
        SqlInviteRepository(db),
        on_code=_log_code if settings.login_codes_to_log else None,
        limiter=limiter,
        limits=sign_in_limits(settings),
        identity=identity,
        grants=grants,
    )
    yield
    if shared is not None:
        await shared.close()
    await db.close()


def _log_code(identifier: str, code: str) -> None:
    # Development only (login_codes_to_log): the one-time code goes to the server log.
    logger.warning("sign-in code for %s: %s", identifier, code)


async def _media(app: web.Application) -> AsyncIterator[None]:
    realtime = app[REALTIME]
    settings = app[SETTINGS]
    media = MediaServer(ice_options(settings), on_presence=realtime.on_presence, whep_limits=whep_limits(settings))
    app[MEDIA] = media
    yield
    await media.close()


async def _demo_room(app: web.Application) -> AsyncIterator[None]:
    """Rooms with a demo source run from start-up, so the first viewer sees a picture at once."""
    for room in await app[ROOMS].list():
        if room.demo_source:
            await open_live_room(app, room)
    yield


async def _close_peers(app: web.Application) -> None:
    # Peer connections close on shutdown, before the cleanup contexts tear the rooms down.
    media = app.get(MEDIA)
    if media is not None:
        for session in list(media.sessions.values()):
            await session.close()


def create_app(settings: Settings) -> web.Application:
    app = web.Application(
        middlewares=[
            cors_middleware, body_deadline_middleware, error_middleware, origin_middleware, session_middleware,
        ],
        client_max_size=8 * 1024**2,
    )
    app[SETTINGS] = settings
    realtime = Realtime(settings)
    app[REALTIME] = realtime
    realtime.attach(app)
    app.cleanup_ctx.append(_identity)
    app.cleanup_ctx.append(_database)
    app.cleanup_ctx.append(_media)
    app.cleanup_ctx.append(_demo_room)
    app.on_shutdown.append(_close_peers)
    for module in (health, accounts, rooms, whip, whep, pages):
        app.add_routes(module.routes)
    for setup in FEATURES:
        setup(app)
    app.router.add_static("/static/", settings.web_dir, show_index=False, append_version=False)
    return app

