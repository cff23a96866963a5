"""The Q&A feature: its service, its Socket.IO events, and the pinned card in every live room.

`setup(app)` is appended to server.app.FEATURES. The card layer is installed into each room's
compositor as the room opens (and into rooms already open); a pin or unpin reaches the room's
pipeline on this node at once and, with Redis configured, on every other node through a pub/sub
channel, since a room's pipeline runs on whichever node opened it.
"""

from __future__ import annotations

import asyncio
import json
import logging
import secrets
from collections.abc import AsyncIterator
from typing import Any

from aiohttp import web

from overlay.layers.qa_card import QaCard, QaCardState
from streams.manager import MediaServer
from streams.room import LiveRoom

from ..domain.voice.ports import Throttle
from ..domain.voice.qa import QaService, Question
from ..domain.voice.throttle import MemoryThrottle
from ..http.keys import DATABASE, MEDIA, REALTIME, ROOMS, SETTINGS
from ..persistence.voice_qa import SqlQuestionRepository
from ..realtime.qa import QaRealtime

logger = logging.getLogger(__name__)

CARD_LAYER = "qa-card"
CARD_Z = 15  # over the lower third (10), under the LIVE badge and captions (20)
CARD_FADE_S = 0.35
PIN_CHANNEL = "fieldcast:qa:card"


def card_state(question: Question | None) -> QaCardState | None:
    """What the card shows for a pinned question (by value: the media thread reads it)."""
    if question is None or not question.answer:
        return None
    return QaCardState(question=question.text, answer=question.answer, asker=question.asker_nickname)


class QaCards:
    """The Q&A card of every live room on this node, kept in step with the pins."""

    def __init__(self, media: MediaServer, service: QaService, redis_url: str | None) -> None:
        self.media = media
        self.service = service
        self.redis_url = redis_url
        self.node = secrets.token_hex(6)
        self._redis: Any = None
        self._listener: asyncio.Task[None] | None = None
        self._loads: set[asyncio.Task[None]] = set()

    # -- rooms on this node ---------------------------------------------------------------------

    def install(self, room: LiveRoom) -> None:
        """Room-open hook: add the (hidden) card, then show the room's pin if it has one."""
        room.compositor.add(QaCard(CARD_LAYER, QaCardState(), z=CARD_Z, visible=False, fade_s=CARD_FADE_S))
        task = asyncio.ensure_future(self._load(room.spec.room_id))
        self._loads.add(task)
        task.add_done_callback(self._loads.discard)

    async def _load(self, room_id: str) -> None:
        try:
            self.apply(room_id, card_state(await self.service.pinned(room_id)))
        except Exception:
            logger.exception("could not load the pinned question", extra={"room": room_id})

    def apply(self, room_id: str, state: QaCardState | None) -> None:
        """Fade the card in with `state`, or out (None). A room not open here is left alone."""
        room = self.media.rooms.get(room_id)
        layer = room.compositor.get(CARD_LAYER) if room is not None else None
        if layer is None:
            return
        if state is None:
            layer.hide()  # the old state stays, so the fade-out still shows the card
        else:
            layer.set_state(state)
            layer.show()

    # -- pins from any node ---------------------------------------------------------------------

    async def show(self, room_id: str, question: Question | None) -> None:
        state = card_state(question)
        self.apply(room_id, state)
        if self._redis is not None:
            card = None if state is None else {"question": state.question, "answer": state.answer, "asker": state.asker}
            message = json.dumps({"node": self.node, "room": room_id, "card": card}, ensure_ascii=False)
            try:
                await self._redis.publish(PIN_CHANNEL, message)
            except Exception:
                # This node's rooms are already right; the others catch up when their room reopens.
                logger.exception("could not tell other nodes about the pin", extra={"room": room_id})

    async def start(self) -> None:
        if not self.redis_url:
            return
        import redis.asyncio as aioredis

        self._redis = aioredis.from_url(self.redis_url)
        pubsub = self._redis.pubsub(ignore_subscribe_messages=True)
        await pubsub.subscribe(PIN_CHANNEL)
        self._listener = asyncio.ensure_future(self._listen(pubsub))

    async def _listen(self, pubsub: Any) -> None:
        try:
            async for message in pubsub.listen():
                self._receive(message.get("data"))
        finally:
            await pubsub.aclose()

    def _receive(self, data: Any) -> None:
        try:
            body = json.loads(data)
            if body.get("node") == self.node:
                return
            card = body.get("card")
            state = QaCardState(str(card["question"]), str(card["answer"]), str(card.get("asker", ""))) if card else None
            self.apply(str(body["room"]), state)
        except (ValueError, TypeError, KeyError):
            logger.warning("ignored a malformed Q&A card message")

    async def close(self) -> None:
        tasks = [*self._loads, *([self._listener] if self._listener else [])]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        if self._redis is not None:
            await self._redis.aclose()


QA = web.AppKey("qa", QaService)
QA_CARDS = web.AppKey("qa_cards", QaCards)
QA_REALTIME = web.AppKey("qa_realtime", QaRealtime)


async def _qa(app: web.Application) -> AsyncIterator[None]:
    # Runs after _database and _media (FEATURES are set up after the core contexts).
    settings = app[SETTINGS]
    redis = None
    throttle: Throttle
    if settings.redis_url:
        from redis.asyncio import Redis

        from ..persistence.voice_throttle import RedisThrottle

        # Rate limits hold across nodes only if the nodes share them.
        redis = Redis.from_url(settings.redis_url)
        throttle = RedisThrottle(redis)
    else:
        throttle = MemoryThrottle()
    service = QaService(SqlQuestionRepository(app[DATABASE]), throttle=throttle)
    app[QA] = service
    media = app[MEDIA]
    cards = QaCards(media, service, settings.redis_url)
    app[QA_CARDS] = cards
    await cards.start()
    media.on_room_open.append(cards.install)
    for room in list(media.rooms.values()):
        cards.install(room)
    yield
    if cards.install in media.on_room_open:
        media.on_room_open.remove(cards.install)
    await app[QA_REALTIME].close()
    await cards.close()
    if redis is not None:
        await redis.aclose()


def setup(app: web.Application) -> None:
    app[QA_REALTIME] = QaRealtime(
        app[REALTIME],
        service=lambda: app[QA],
        rooms=lambda: app[ROOMS],
        show_card=lambda room_id, question: app[QA_CARDS].show(room_id, question),
    )
    app.cleanup_ctx.append(_qa)
