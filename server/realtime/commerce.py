"""Commerce on the live side: Socket.IO handlers (claim, order, pin), the events every viewer sees
(pinned product, stock, group-buy progress) and the per-user ones (order status), and the shop's
overlay layers in each live room.

Bursts are coalesced: a hundred claims in a second make one `stock.changed` per claim per 50 ms,
not a hundred. Order events go to `user:<id>`, so a viewer receives only their own orders.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from aiohttp import web

from ..domain.accounts.roles import Role
from ..domain.commerce.cache import TtlCache
from ..domain.commerce.checkout import Buyer, BuyRequest, ClaimRequest, Delivery
from ..domain.commerce.errors import NotOnSale, UnknownGroupBuy
from ..domain.commerce.flash_claims import FlashClaim
from ..domain.commerce.live_sessions import Pin
from ..domain.commerce.orders import Fulfilment, Order, PaymentMethod
from ..domain.errors import DomainError, NotFound, Unauthorized
from ..http.commerce_keys import COMMERCE
from ..http.commerce_models import (
    FlashClaimPublic,
    GroupBuyPublic,
    ShopState,
    claim_public,
    group_buy_public,
    order_public_json,
    product_public,
    session_public,
)
from ..http.keys import REALTIME, ROOMS, SETTINGS
from ..http.orders import DeliveryIn
from . import commerce_events as ev
from .server import Client, Realtime, payload_room, sio_room, user_room

if TYPE_CHECKING:
    from streams.manager import MediaServer

    from ..features.commerce import Commerce
    from ..features.shop_overlays import ShopOverlays

logger = logging.getLogger(__name__)

COALESCE_S = 0.05  # the first change after a quiet spell goes out this much later
BROADCAST_INTERVAL_S = 0.45  # then at most this often per counter or pool while a rush lasts
CLAIM_BROADCAST_INTERVAL_S = 1.0


class Coalescer:
    """Runs the latest job per key: the first change after a quiet spell `delay_s` later, then at
    most once per `interval_s` while changes keep coming.

    A broadcast to a room is one send per viewer (2,000 viewers: 2,000 sends), so during a rush
    a counter goes out a few times a second, not once per unit taken, and still within 500 ms.
    """

    def __init__(self, delay_s: float, interval_s: float) -> None:
        self.delay_s = delay_s
        self.interval_s = interval_s
        self._jobs: dict[Any, Callable[[], Awaitable[None]]] = {}
        self._timers: dict[Any, asyncio.TimerHandle] = {}
        self._sent: dict[Any, float] = {}
        self._running: set[asyncio.Task[None]] = set()

    def add(self, key: Any, job: Callable[[], Awaitable[None]], interval_s: float | None = None) -> None:
        self._jobs[key] = job
        if key in self._timers:
            return
        loop = asyncio.get_running_loop()
        gap = self.interval_s if interval_s is None else interval_s
        due = max(loop.time() + self.delay_s, self._sent.get(key, 0.0) + gap)
        self._timers[key] = loop.call_at(due, self._flush, key)

    def _flush(self, key: Any) -> None:
        self._timers.pop(key, None)
        job = self._jobs.pop(key, None)
        if job is None:
            return
        self._sent[key] = asyncio.get_running_loop().time()
        if len(self._sent) > 10_000:
            self._sent.clear()
        task = asyncio.ensure_future(self._run(job))
        self._running.add(task)
        task.add_done_callback(self._running.discard)

    @staticmethod
    async def _run(job: Callable[[], Awaitable[None]]) -> None:
        try:
            await job()
        except Exception:
            logger.exception("commerce live update failed")

    def close(self) -> None:
        for timer in self._timers.values():
            timer.cancel()
        self._timers.clear()
        self._jobs.clear()


def _delivery(d: DeliveryIn) -> Delivery:
    return Delivery(Fulfilment(d.fulfilment), d.pickup_point_id, d.address, d.contact_name, d.contact_phone)


class CommerceRealtime:
    """Implements the domain's CommerceEvents port on Socket.IO and the overlays."""

    def __init__(self, app: web.Application) -> None:
        self.app = app
        self.coalesce = Coalescer(COALESCE_S, BROADCAST_INTERVAL_S)
        self.overlays: ShopOverlays | None = None
        # A crowd arriving at once (a link shared in a group chat) reads the shop once per
        # half second per room; the live events bring whatever changed since.
        self._joins: TtlCache[str, ShopState | None] = TtlCache(self._join_state, ttl_s=0.5)
        # A new order's public form, made once for its `order.status` event and taken again by the
        # reply to the call that placed it (the same order object, so the same content).
        self._placed: dict[int, tuple[Order, dict[str, Any]]] = {}

    async def _join_state(self, room_id: str) -> ShopState | None:
        if await self.app[ROOMS].get(room_id) is None:
            return None
        return await self.shop_state(room_id)

    @property
    def commerce(self) -> Commerce:
        return self.app[COMMERCE]

    @property
    def sio(self) -> Any:
        return self.app[REALTIME].sio

    async def start(self, media: MediaServer) -> None:
        from ..features.shop_overlays import ShopOverlays

        self.overlays = ShopOverlays(self.app, media, self.app[SETTINGS].redis_url)
        await self.overlays.start()

    async def stop(self) -> None:
        self.coalesce.close()
        if self.overlays is not None:
            await self.overlays.stop()

    def _overlay(self, room_id: str) -> None:
        if self.overlays is not None:
            self.overlays.changed(room_id)

    # -- the CommerceEvents port ----------------------------------------------------------------

    async def order_changed(self, order: Order) -> None:
        # OrderStatus is OrderPublic by another name.
        payload = order_public_json(order)
        await self.sio.emit(ev.ORDER_STATUS, payload, room=user_room(order.user_id))

    async def order_placed(self, order: Order) -> None:
        """A new order's event; its public form is kept for the reply to the call that placed it."""
        payload = order_public_json(order)
        if len(self._placed) > 10_000:  # replies that never came (their calls failed later)
            self._placed.clear()
        self._placed[order.id] = (order, payload)
        await self.sio.emit(ev.ORDER_STATUS, payload, room=user_room(order.user_id))

    def order_reply(self, order: Order) -> dict[str, Any]:
        """The public form of an order to answer a call with: the one its event was sent with."""
        made = self._placed.pop(order.id, None)
        if made is not None and made[0] is order:
            return made[1]
        return order_public_json(order)

    async def units_changed(self, product_id: int, claim_id: int | None, room_id: str | None = None) -> None:
        rooms = [room_id] if room_id else await self.commerce.sessions.rooms_selling(product_id)
        # A flash claim's counter is on the video already (the overlay shows it within 500 ms,
        # rendered once for everyone); the pages get it at most once a second during the rush.
        interval = CLAIM_BROADCAST_INTERVAL_S if claim_id is not None else None
        for room in rooms:
            self.coalesce.add(("units", room, product_id, claim_id), functools.partial(self._send_units, room, product_id, claim_id), interval)

    async def _send_units(self, room_id: str, product_id: int, claim_id: int | None) -> None:
        remaining = await self.commerce.remaining(product_id, claim_id)
        await self.sio.emit(ev.STOCK_CHANGED, ev.StockChanged(
            room=room_id, product_id=product_id, claim_id=claim_id, remaining=remaining).model_dump(), room=sio_room(room_id))
        self._overlay(room_id)

    async def group_buy_changed(self, pool_id: int) -> None:
        self.coalesce.add(("pool", pool_id), lambda: self._send_pool(pool_id))

    async def _send_pool(self, pool_id: int) -> None:
        view = await self.group_buy_view(pool_id)
        session = await self.commerce.sessions.get(view.session_id)
        if session is None:
            return
        payload = ev.GroupBuyProgress(**view.model_dump(), room=session.room_id).model_dump(mode="json")
        await self.sio.emit(ev.GROUPBUY_PROGRESS, payload, room=sio_room(session.room_id))
        self._overlay(session.room_id)

    async def shop_changed(self, room_id: str) -> None:
        await self.sio.emit(ev.SHOP_CHANGED, {"room": room_id}, room=sio_room(room_id))
        self._overlay(room_id)

    async def product_changed(self, product_id: int) -> None:
        for room in await self.commerce.sessions.rooms_selling(product_id):
            await self.shop_changed(room)

    async def pin_changed(self, room_id: str, pin: Pin | None) -> None:
        product = None
        if pin is not None:
            p = await self.commerce.catalog.get(pin.product_id)
            if p is not None:
                product = product_public(p, await self.commerce.remaining(pin.product_id, None))
        at = (pin.pinned_at if pin else self.commerce.clock()).isoformat()
        await self.sio.emit(ev.PRODUCT_PINNED, ev.ProductPinned(room=room_id, product=product, at=at).model_dump(mode="json"),
                            room=sio_room(room_id))
        self._overlay(room_id)

    # -- views ----------------------------------------------------------------------------------

    async def group_buy_view(self, pool_id: int) -> GroupBuyPublic:
        c = self.commerce
        pool = await c.group_buys.get(pool_id)
        if pool is None:
            raise UnknownGroupBuy(f"no group-buy {pool_id}")
        buyers = (await c.group_buys.buyers([pool_id]))[pool_id]
        community = await c.communities.get(pool.community_id)
        return group_buy_public(pool, buyers, community.name if community else "")

    async def claim_view(self, claim: FlashClaim) -> FlashClaimPublic:
        assert claim.id is not None
        return claim_public(claim, await self.commerce.remaining(claim.product_id, claim.id))

    async def shop_state(self, room_id: str) -> ShopState:
        c = self.commerce
        session = await c.sessions.current(room_id)
        if session is None or session.id is None:
            return ShopState(session=None, products=[], pinned_product_id=None, group_buys=[], flash_claims=[])
        products = await c.catalog.list(list(session.product_ids))
        order = {pid: i for i, pid in enumerate(session.product_ids)}
        products.sort(key=lambda p: order.get(p.id or 0, 0))
        pin = await c.sessions.current_pin(session.id)
        pools = await c.group_buys.for_session(session.id)
        counts = await c.group_buys.buyers([p.id for p in pools if p.id is not None])
        names = {cm.id: cm.name for cm in await c.communities.list()}
        claims = await c.claims.for_session(session.id)
        return ShopState(
            session=session_public(session),
            products=[product_public(p, await c.remaining(p.id or 0, None)) for p in products],
            pinned_product_id=pin.product_id if pin else None,
            group_buys=[group_buy_public(p, counts.get(p.id or 0, 0), names.get(p.community_id, "")) for p in pools],
            flash_claims=[await self.claim_view(cl) for cl in claims],
        )

    # -- pins -----------------------------------------------------------------------------------

    async def pin(self, room_id: str, product_id: int) -> Pin:
        c = self.commerce
        if await self.app[ROOMS].get(room_id) is None:
            raise NotFound(f"no room {room_id!r}")
        session = await c.sessions.current(room_id)
        if session is None or session.id is None:
            raise NotOnSale("start a live session in this room first")
        if product_id not in session.product_ids:
            raise NotOnSale(f"product {product_id} is not on sale in this live session")
        pin = await c.sessions.pin(session.id, product_id, c.clock())
        logger.info("product %s pinned", product_id, extra={"room": room_id})
        await self.pin_changed(room_id, pin)
        return pin

    async def unpin(self, room_id: str) -> None:
        c = self.commerce
        session = await c.sessions.current(room_id)
        if session is not None and session.id is not None:
            await c.sessions.unpin(session.id, c.clock())
        await self.pin_changed(room_id, None)

    # -- Socket.IO handlers ---------------------------------------------------------------------

    async def _buyer(self, client: Client) -> Buyer:
        if client.user_id is None:
            raise Unauthorized("sign in to buy")
        # Read on connect (and again on shop.join): no query per claim when thousands claim at once.
        return Buyer(client.user_id, client.community_id)

    async def on_shop_join(self, client: Client, payload: ev.ShopJoin) -> dict[str, Any]:
        state = await self._joins.get(payload.room)
        if state is None:
            return ev_error("not_found", f"no room {payload.room!r}")
        await self.sio.enter_room(client.sid, sio_room(payload.room))
        if client.user_id is not None:
            await self.sio.enter_room(client.sid, user_room(client.user_id))
            # The buyer may have picked another community since connecting.
            user = await self.commerce.users.get(client.user_id)
            if user is not None and user.community_id != client.community_id:
                await self.app[REALTIME].update_client(client.sid, community_id=user.community_id)
        return {"ok": True, "shop": state.model_dump(mode="json")}

    async def on_claim(self, client: Client, payload: ev.ClaimPayload) -> dict[str, Any]:
        buyer = await self._buyer(client)
        order, created = await self.commerce.claim(buyer, ClaimRequest(
            claim_id=payload.claim_id, quantity=payload.quantity, delivery=_delivery(payload.delivery),
            payment_method=PaymentMethod(payload.payment_method), idempotency_key=payload.idempotency_key,
        ))
        return {"ok": True, "created": created, "order": self.order_reply(order)}

    async def on_order_create(self, client: Client, payload: ev.OrderCreatePayload) -> dict[str, Any]:
        buyer = await self._buyer(client)
        assert payload.idempotency_key is not None
        order, created = await self.commerce.buy(buyer, BuyRequest(
            room_id=payload.room_id, product_id=payload.product_id, quantity=payload.quantity,
            delivery=_delivery(payload.delivery), coupon_code=payload.coupon_code,
            payment_method=PaymentMethod(payload.payment_method), idempotency_key=payload.idempotency_key,
            expected_total_fen=payload.expected_total_fen,
        ))
        return {"ok": True, "created": created, "order": self.order_reply(order)}

    async def on_pin(self, client: Client, payload: ev.PinPayload) -> dict[str, Any]:
        pin = await self.pin(payload.room, payload.product_id)
        return {"ok": True, "pinned_at": pin.pinned_at.isoformat()}

    async def on_unpin(self, client: Client, payload: ev.UnpinPayload) -> dict[str, Any]:
        await self.unpin(payload.room)
        return {"ok": True}

    @staticmethod
    def register(realtime: Realtime, app: web.Application) -> None:
        def live() -> CommerceRealtime:
            return app[COMMERCE].live

        async def shop_join(client: Client, payload: ev.ShopJoin) -> dict[str, Any]:
            return await guarded(ev.SHOP_JOIN, client, live().on_shop_join(client, payload))

        async def claim(client: Client, payload: ev.ClaimPayload) -> dict[str, Any]:
            return await guarded(ev.CLAIM, client, live().on_claim(client, payload))

        async def order_create(client: Client, payload: ev.OrderCreatePayload) -> dict[str, Any]:
            return await guarded(ev.ORDER_CREATE, client, live().on_order_create(client, payload))

        async def pin(client: Client, payload: ev.PinPayload) -> dict[str, Any]:
            return await live().on_pin(client, payload)

        async def unpin(client: Client, payload: ev.UnpinPayload) -> dict[str, Any]:
            return await live().on_unpin(client, payload)

        realtime.on(ev.SHOP_JOIN, ev.ShopJoin, role=Role.VIEWER)(shop_join)
        realtime.on(ev.CLAIM, ev.ClaimPayload, role=Role.VIEWER)(claim)
        realtime.on(ev.ORDER_CREATE, ev.OrderCreatePayload, role=Role.VIEWER)(order_create)
        realtime.on(ev.PIN, ev.PinPayload, role=Role.HOST, room=payload_room)(pin)
        realtime.on(ev.UNPIN, ev.UnpinPayload, role=Role.HOST, room=payload_room)(unpin)


async def guarded(event: str, client: Client, call: Awaitable[dict[str, Any]]) -> dict[str, Any]:
    """A failure that is not the buyer's (the database busy, Redis gone) still gets an answer:
    the client retries with the same idempotency key, so nothing is bought twice."""
    try:
        return await call
    except DomainError:
        raise
    except Exception:
        logger.exception("%s failed", event, extra={"sid": client.sid, "user": client.label})
        return ev_error("unavailable", "the shop is busy: try again")


def ev_error(code: str, message: str) -> dict[str, Any]:
    return {"error": code, "message": message}
