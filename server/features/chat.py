"""Live chat with moderation: the services, the Socket.IO handlers and the moderation-log route."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from datetime import timedelta

from aiohttp import web

from ..domain.accounts.grants import room_role, user_subject
from ..domain.accounts.roles import Role
from ..domain.accounts.users import User
from ..domain.voice.chat import ChatLimits, ChatService
from ..domain.voice.moderation import ModerationService
from ..domain.voice.ports import Throttle
from ..domain.voice.throttle import MemoryThrottle
from ..http import moderation as moderation_routes
from ..http.chat_keys import CHAT, CHAT_FANOUT, MODERATION
from ..http.keys import ACCOUNTS, DATABASE, GRANTS, REALTIME, SETTINGS
from ..persistence.voice_chat import SqlChatRepository, SqlModerationRepository
from ..realtime.chat import ChatHandlers
from ..realtime.chat_fanout import ChatFanout

logger = logging.getLogger(__name__)


def setup(app: web.Application) -> None:
    ChatHandlers(app).register()
    app.add_routes(moderation_routes.routes)
    app.cleanup_ctx.append(_chat)


async def _chat(app: web.Application) -> AsyncIterator[None]:
    settings = app[SETTINGS]
    db = app[DATABASE]
    redis = None
    throttle: Throttle
    if settings.redis_url:
        from redis.asyncio import Redis

        from ..persistence.voice_throttle import RedisThrottle

        # Rate limits and slow mode hold across nodes only if the nodes share them.
        redis = Redis.from_url(settings.redis_url)
        throttle = RedisThrottle(redis)
    else:
        throttle = MemoryThrottle()
    messages = SqlChatRepository(db)
    grants = app[GRANTS]

    async def role_in_room(user: User, room_id: str) -> Role:
        assert user.id is not None
        return room_role(user.role, (await grants.of(user_subject(user.id))).get(room_id))

    moderation = ModerationService(
        SqlModerationRepository(db), messages, app[ACCOUNTS].users,
        global_words=settings.chat_blocked_words,
        state_ttl_s=settings.chat_state_ttl_s,
        ip_hold=timedelta(hours=settings.chat_ban_ip_hours),
        role_in_room=role_in_room,
    )
    limits = ChatLimits(settings.chat_rate_messages, settings.chat_rate_window_s, settings.chat_history)
    fanout = ChatFanout(app[REALTIME].sio, settings.chat_batch_ms / 1000, settings.chat_batch_us_per_viewer / 1e6)
    app[MODERATION] = moderation
    app[CHAT] = ChatService(messages, moderation, throttle, limits)
    app[CHAT_FANOUT] = fanout
    yield
    await fanout.close()
    await messages.close()  # whatever was accepted is written before the database closes
    if redis is not None:
        await redis.aclose()
