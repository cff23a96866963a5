"""The shop's layers in every live room on this node: pinned product card, group-buy bars and the
flash-claim countdown. Any change anywhere marks the room; the room's state is then read again
(from SQL and the hot counters) and handed to the layers by value. With Redis configured the mark
goes out on a pub/sub channel, since a room's pipeline runs on whichever node opened it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import datetime
from pathlib import Path
from typing import Any

from aiohttp import web

from overlay.layers.flash_countdown import FlashCountdown, FlashCountdownState
from overlay.layers.group_buy_bars import GroupBuyBar, GroupBuyBars, GroupBuyBarsState
from overlay.layers.product_card import ProductCard, ProductCardState
from overlay.layers.shop_layout import yuan
from streams.manager import MediaServer
from streams.room import LiveRoom

from ..http.commerce_keys import COMMERCE
from ..http.commerce_models import FlashClaimPublic, ShopState
from ..http.keys import SETTINGS

logger = logging.getLogger(__name__)

CARD, BARS, COUNTDOWN = "shop-card", "shop-group-buys", "shop-flash-claim"
CHANNEL = "fieldcast:commerce:overlay"
REFRESH_S = 0.05  # marks within this window share one read
TOP_COMMUNITIES = 3
PHOTO_CACHE = 64


def countdown_state(claim: FlashClaimPublic | None, product: str, now: datetime) -> FlashCountdownState:
    if claim is None or now >= claim.ends_at:
        return FlashCountdownState()
    if now < claim.starts_at:
        phase, seconds = "upcoming", int((claim.starts_at - now).total_seconds() + 0.999)
    elif claim.remaining <= 0:
        phase, seconds = "sold_out", 0
    else:
        phase, seconds = "live", int((claim.ends_at - now).total_seconds() + 0.999)
    return FlashCountdownState(product, claim.price_fen, claim.remaining, claim.quantity, phase, seconds)


def bar_line(unlocked: bool, missing: int, discount_fen: int, next_discount_fen: int | None) -> str:
    """The short line under a community's bar (the count is beside the name already)."""
    if not unlocked:
        return f"再差{missing}位成团 · {missing} more to unlock"
    if next_discount_fen is not None:
        return f"已减{yuan(discount_fen)} 再差{missing}位减{yuan(next_discount_fen)}"
    return f"已成团 每件减{yuan(discount_fen)}"


class ShopOverlays:
    def __init__(self, app: web.Application, media: MediaServer, redis_url: str | None) -> None:
        self.app = app
        self.media = media
        self.redis_url = redis_url
        self._pending: set[str] = set()
        self._timer: asyncio.TimerHandle | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._ticker: asyncio.Task[None] | None = None
        self._listener: asyncio.Task[None] | None = None
        self._redis: Any = None
        # What the once-a-second countdown needs, kept from the last read of each room.
        self._claims: dict[str, tuple[FlashClaimPublic, str]] = {}
        self._photos: dict[str, bytes | None] = {}

    async def start(self) -> None:
        self.media.on_room_open.append(self.install)
        for room in list(self.media.rooms.values()):
            self.install(room)
        self._ticker = asyncio.ensure_future(self._tick())
        if self.redis_url:
            import redis.asyncio as aioredis

            self._redis = aioredis.from_url(self.redis_url, driver_info=None)
            pubsub = self._redis.pubsub()
            await pubsub.subscribe(CHANNEL)
            self._listener = asyncio.ensure_future(self._listen(pubsub))

    async def stop(self) -> None:
        with contextlib.suppress(ValueError):
            self.media.on_room_open.remove(self.install)
        if self._timer is not None:
            self._timer.cancel()
        for task in [self._ticker, self._listener, *self._tasks]:
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
        if self._redis is not None:
            await self._redis.aclose()

    def install(self, room: LiveRoom) -> None:
        # Hidden until the room's shop has something to show; they fade in and out from then on.
        room.compositor.add(GroupBuyBars(BARS, GroupBuyBarsState(), z=12, visible=False, fade_s=0.3))
        room.compositor.add(ProductCard(CARD, ProductCardState(), z=13, visible=False, fade_s=0.3))
        room.compositor.add(FlashCountdown(COUNTDOWN, FlashCountdownState(), z=14, visible=False, fade_s=0.3))
        self._mark(room.spec.room_id)

    # -- marking and reading ----------------------------------------------------------------------

    def changed(self, room_id: str) -> None:
        """Something the room's layers show changed (on any node)."""
        if self._redis is not None:
            task = asyncio.ensure_future(self._redis.publish(CHANNEL, room_id))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        else:
            self._mark(room_id)

    async def _listen(self, pubsub: Any) -> None:
        try:
            async for message in pubsub.listen():
                if message.get("type") == "message":
                    self._mark(message["data"].decode())
        finally:
            with contextlib.suppress(Exception):
                await pubsub.aclose()

    def _mark(self, room_id: str) -> None:
        if room_id not in self.media.rooms:
            return
        self._pending.add(room_id)
        if self._timer is None:
            self._timer = asyncio.get_running_loop().call_later(REFRESH_S, self._flush)

    def _flush(self) -> None:
        self._timer = None
        rooms, self._pending = self._pending, set()
        for room_id in rooms:
            task = asyncio.ensure_future(self._refresh(room_id))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _refresh(self, room_id: str) -> None:
        room = self.media.rooms.get(room_id)
        if room is None:
            return
        try:
            shop = await self.app[COMMERCE].live.shop_state(room_id)
            await self._apply(room, shop)
        except Exception:
            logger.exception("shop overlay refresh failed", extra={"room": room_id})

    async def _apply(self, room: LiveRoom, shop: ShopState) -> None:
        room_id = room.spec.room_id
        products = {p.id: p for p in shop.products}
        pinned = products.get(shop.pinned_product_id) if shop.pinned_product_id else None
        # The card
        card = room.compositor.get(CARD)
        if card is not None:
            if pinned is None:
                card.hide()
            else:
                photo = await self._photo(pinned.photos[0]) if pinned.photos else None
                card.set_state(ProductCardState(pinned.name_zh, pinned.name_en, pinned.price_fen, pinned.unit,
                                                pinned.stock, photo))
                card.show()
        # The bars: the pinned product's pools if it has any, else the product with most buyers.
        bars = room.compositor.get(BARS)
        if bars is not None:
            pools = [g for g in shop.group_buys if g.state == "open"]
            if pinned is not None and any(g.product_id == pinned.id for g in pools):
                pools = [g for g in pools if g.product_id == pinned.id]
            elif pools:
                best = max(pools, key=lambda g: g.buyers).product_id
                pools = [g for g in pools if g.product_id == best]
            pools.sort(key=lambda g: (-g.buyers, g.community_id))
            rows = []
            for g in pools[:TOP_COMMUNITIES]:
                target = g.buyers + g.missing if g.missing else max((t.buyers for t in g.tiers), default=g.buyers)
                line = bar_line(g.unlocked, g.missing, g.discount_fen, g.next_discount_fen)
                rows.append(GroupBuyBar(g.community_name, g.buyers, target, line, g.unlocked))
            if rows:
                product = products.get(pools[0].product_id)
                bars.set_state(GroupBuyBarsState(product.name_zh if product else "", tuple(rows)))
                bars.show()
            else:
                bars.hide()
        # The countdown: the claim that is live, else the next one to start.
        now = self.app[COMMERCE].clock()
        claims = sorted((c for c in shop.flash_claims if c.ends_at > now), key=lambda c: c.starts_at)
        live = [c for c in claims if c.starts_at <= now]
        claim = live[0] if live else claims[0] if claims else None
        if claim is None:
            self._claims.pop(room_id, None)
        else:
            product = products.get(claim.product_id)
            self._claims[room_id] = (claim, product.name_zh if product else "")
        self._show_countdown(room, now)

    def _show_countdown(self, room: LiveRoom, now: datetime) -> None:
        layer = room.compositor.get(COUNTDOWN)
        if layer is None:
            return
        entry = self._claims.get(room.spec.room_id)
        state = countdown_state(entry[0], entry[1], now) if entry else FlashCountdownState()
        if state.phase == "hidden":
            layer.hide()
        else:
            if state != layer.state:
                layer.set_state(state)
            if not layer.visible:
                layer.show()

    async def _tick(self) -> None:
        # The countdown moves once a second without reading anything: the remaining count comes
        # with each change, the clock from here.
        while True:
            await asyncio.sleep(1.0 - (datetime.now().microsecond / 1e6) % 1.0)
            now = self.app[COMMERCE].clock()
            for room_id in list(self._claims):
                room = self.media.rooms.get(room_id)
                if room is None:
                    self._claims.pop(room_id, None)
                    continue
                claim = self._claims[room_id][0]
                if now >= claim.ends_at:
                    self._mark(room_id)  # read again: the next claim, if any, takes its place
                self._show_countdown(room, now)

    async def _photo(self, url: str) -> bytes | None:
        if url in self._photos:
            return self._photos[url]
        data: bytes | None = None
        if url.startswith("/static/"):
            root = Path(self.app[SETTINGS].web_dir).resolve()
            path = (root / url.removeprefix("/static/")).resolve()
            if path.is_relative_to(root) and path.is_file():
                data = await asyncio.to_thread(path.read_bytes)
        elif url.startswith("/media/products/"):
            data = await self.app[COMMERCE].photos.read(url)
        # Remote (https) photos are not fetched by the media plane: the card draws a tile instead.
        if len(self._photos) >= PHOTO_CACHE:
            self._photos.clear()
        self._photos[url] = data
        return data
