"""The Q&A feature: its service, its Socket.IO events, and the pinned card in every live room.

`setup(app)` is appended to server.app.FEATURES. The card layer is installed into each room's
compositor as the room opens (and into rooms already open); a pin or unpin reaches the room's
pipeline on this node at once and, with Redis configured, on every other node through a
NodeChannel, since a room's pipeline runs on whichever node opened it.
"""

from __future__ import annotations

import asyncio
import logging
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
from ..realtime.node_channel import NodeChannel
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
        self.nodes = NodeChannel(redis_url, PIN_CHANNEL, self._receive)
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
        card = None if state is None else {"question": state.question, "answer": state.answer, "asker": state.asker}
        await self.nodes.publish({"room": room_id, "card": card})

    def _receive(self, body: dict[str, Any]) -> None:
        # Malformed bodies raise here; the channel logs and skips them.
        card = body.get("card")
        state = QaCardState(str(card["question"]), str(card["answer"]), str(card.get("asker", ""))) if card else None
        self.apply(str(body["room"]), state)

    async def start(self) -> None:
        await self.nodes.start()

    async def close(self) -> None:
        await self.nodes.close()
        for task in self._loads:
            task.cancel()
        await asyncio.gather(*self._loads, return_exceptions=True)


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
