"""The testimonial wall (真实好评 + 晒单): verified-buyer reviews, their moderation, and the ticker.

`setup(app)` is appended to server.app.FEATURES. It adds the reviews API and photo route, the
review Socket.IO events, and a cleanup context that builds the service (orders are looked up in
commerce's tables through its OrderLookup port) and installs the ticker layer in every live room.
An approval or take-down reaches the room's ticker on this node at once and, with Redis, on every
other node through a NodeChannel, since a room's pipeline runs on whichever node opened it.
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import os
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ProcessPoolExecutor
from typing import Any, TypeVar

from aiohttp import web

from overlay.layers.testimonial_ticker import MAX_ITEMS, TestimonialTicker, TickerItem, TickerState
from streams.manager import MediaServer
from streams.room import LiveRoom

from ..domain.voice.reviews import Review, ReviewService
from ..http import reviews as reviews_http
from ..http.keys import DATABASE, MEDIA, REALTIME, ROOMS, SETTINGS
from ..http.review_keys import REVIEW_FILES, REVIEWS
from ..persistence.commerce_orders import SqlOrderLookup, SqlOrders
from ..persistence.review_files import DiskPhotoFiles
from ..persistence.voice_reviews import SqlReviewRepository
from ..realtime.node_channel import NodeChannel
from ..realtime.reviews import ReviewBroadcaster, ReviewsRealtime

logger = logging.getLogger(__name__)

TICKER_LAYER = "testimonial-ticker"
TICKER_Z = 12  # over the lower third (10), under the Q&A card (15) and the LIVE badge (20)
TICKER_FADE_S = 0.4
WALL_CHANNEL = "fieldcast:reviews:wall"

T = TypeVar("T")


def photo_workers() -> int:
    """Worker processes for photo decoding: half the cores (one on a 2-core box), at most four."""
    return max(1, min(4, (os.cpu_count() or 2) // 2))


async def ticker_state(service: ReviewService, room_id: str) -> TickerState:
    """The room's newest approved reviews as the ticker shows them (by value: the media thread reads it)."""
    reviews = await service.wall(room_id, MAX_ITEMS)
    return TickerState(tuple([await _item(service, r) for r in reviews]))


async def _item(service: ReviewService, review: Review) -> TickerItem:
    return TickerItem(review.nickname, review.rating, review.text, await service.thumbnail(review))


class TestimonialTickers:
    """The ticker of every live room on this node, kept in step with the approved reviews."""

    def __init__(self, media: MediaServer, service: ReviewService, redis_url: str | None) -> None:
        self.media = media
        self.service = service
        self.nodes = NodeChannel(redis_url, WALL_CHANNEL, self._receive)
        self._tasks: set[asyncio.Task[None]] = set()
        # One refresh at a time per room: two quick approvals must not land out of order.
        self._locks: dict[str, asyncio.Lock] = {}

    def install(self, room: LiveRoom) -> None:
        """Room-open hook: add the (hidden) ticker, then fill it from the room's wall."""
        room.compositor.add(
            TestimonialTicker(TICKER_LAYER, TickerState(), z=TICKER_Z, visible=False, fade_s=TICKER_FADE_S)
        )
        self._spawn(self.refresh(room.spec.room_id))

    def _spawn(self, coro: Any) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def refresh(self, room_id: str) -> None:
        """Reload the room's ticker from the database, if the room's pipeline runs on this node."""
        if room_id not in self.media.rooms:
            return
        lock = self._locks.setdefault(room_id, asyncio.Lock())
        async with lock:
            try:
                state = await ticker_state(self.service, room_id)
            except Exception:
                logger.exception("could not load the testimonial wall", extra={"room": room_id})
                return
            room = self.media.rooms.get(room_id)
            layer = room.compositor.get(TICKER_LAYER) if room is not None else None
            if room is None or not isinstance(layer, TestimonialTicker):
                return
            if not state.items:
                layer.hide()  # the old items stay for the fade-out
                return
            layer.set_state(state)
            # Render and convert off the media thread, so no frame waits for it.
            await asyncio.to_thread(layer.warm, (room.width, room.height))
            layer.show()

    async def wall_changed(self, room_id: str) -> None:
        await self.refresh(room_id)
        await self.nodes.publish({"room": room_id})

    def _receive(self, body: dict[str, Any]) -> None:
        # Another node changed a wall: reload it here (the database has it) if the room runs here.
        self._spawn(self.refresh(str(body["room"])))

    async def start(self) -> None:
        await self.nodes.start()

    async def close(self) -> None:
        await self.nodes.close()
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)


TICKERS = web.AppKey("testimonial_tickers", TestimonialTickers)


async def _testimonials(app: web.Application) -> AsyncIterator[None]:
    # Runs after _database and _media (FEATURES are set up after the core contexts).
    db = app[DATABASE]
    files = DiskPhotoFiles(app[SETTINGS].media_dir)
    media = app[MEDIA]

    async def wall_changed(room_id: str) -> None:
        await app[TICKERS].wall_changed(room_id)

    # Photos are decoded in worker processes, not threads: parts of Pillow hold the GIL, and
    # measured on two cores, two photo threads pushed the event loop's p99 lag from 8 ms to 68 ms
    # (one worker process: 8 ms). Spawned, not forked: this process runs media threads.
    workers = photo_workers()
    pool = ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("spawn"))
    loop = asyncio.get_running_loop()

    async def in_worker(fn: Callable[..., T], *args: Any) -> T:
        return await loop.run_in_executor(pool, fn, *args)

    service = ReviewService(
        SqlReviewRepository(db),
        SqlOrderLookup(SqlOrders(db)),
        files,
        events=ReviewBroadcaster(app[REALTIME], wall_changed),
        run_blocking=in_worker,
        image_jobs=workers,
    )
    tickers = TestimonialTickers(media, service, app[SETTINGS].redis_url)
    app[REVIEWS] = service
    app[REVIEW_FILES] = files
    app[TICKERS] = tickers
    await tickers.start()
    media.on_room_open.append(tickers.install)
    for room in list(media.rooms.values()):
        tickers.install(room)
    yield
    if tickers.install in media.on_room_open:
        media.on_room_open.remove(tickers.install)
    await tickers.close()
    await asyncio.to_thread(pool.shutdown, wait=True, cancel_futures=True)


def setup(app: web.Application) -> None:
    ReviewsRealtime(app[REALTIME], service=lambda: app[REVIEWS], rooms=lambda: app[ROOMS])
    app.add_routes(reviews_http.routes)
    app.cleanup_ctx.append(_testimonials)
