"""Application keys for chat and its moderation."""

from __future__ import annotations

from typing import TYPE_CHECKING

from aiohttp import web

from ..domain.voice.chat import ChatService
from ..domain.voice.moderation import ModerationService

if TYPE_CHECKING:
    from ..realtime.chat_fanout import ChatFanout

CHAT = web.AppKey("chat", ChatService)
MODERATION = web.AppKey("moderation", ModerationService)
CHAT_FANOUT: web.AppKey[ChatFanout] = web.AppKey("chat_fanout")
