"""Placing orders with Redis as the hot counter: a Lua script takes the unit, then the order is
written to SQL. A reservation that never reached SQL (a crash in between, a dropped task) stays in
a Redis hash and is completed by `reconcile`, on start-up and every few seconds after.
Units taken here are applied to products.stock / flash_claims.remaining in batches (`apply_stock`).
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import random
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any

import orjson
import redis.asyncio as aioredis
from redis.exceptions import NoScriptError
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select

from ..domain.commerce.errors import ClaimLimitReached, CouponUsed, IdempotencyKeyReused, SoldOut
from ..domain.commerce.orders import Fulfilment, Order, OrderDraft, PaymentMethod
from ..domain.commerce.pricing import PriceLine
from ..domain.errors import Conflict
from ..turn_batch import TurnBatch
from . import redis_scripts
from .commerce_orders import SqlOrders, insert_order, insert_orders, replay
from .commerce_tables import ClaimTakeRow, FlashClaimRow, ProductRow
from .db import Database

logger = logging.getLogger(__name__)

IDEMPOTENCY_TTL_S = 7 * 86400
# A reservation older than this with no order is completed by the reconciler (its task is gone).
STALE_RESERVATION_S = 10.0
SOLD_OUT_MEMORY_S = 0.5
WRITE_BATCH = 500
BATCH_CALLS = 256  # reservations per Redis pipeline


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


def draft_to_json(draft: OrderDraft) -> str:
    # Every winner of a rush passes here: orjson writes the dataclass (its nested PriceLines and
    # enums too) itself, with no dict copy on the way.
    return orjson.dumps(draft).decode()


def draft_from_json(text: str) -> OrderDraft:
    data: dict[str, Any] = orjson.loads(text)
    data.pop("at", None)  # written by earlier versions
    data["lines"] = tuple(PriceLine(**line) for line in data["lines"])
    data["fulfilment"] = Fulfilment(data["fulfilment"])
    data["payment_method"] = PaymentMethod(data["payment_method"])
    return OrderDraft(**data)


def new_reservation(now: float | None = None) -> str:
    """A reservation id that says when it was made: milliseconds since the epoch (13 digits),
    then 64 random bits (unique, not secret: no system call per claim for them). The reconciler
    tells young reservations from old by the id alone, without fetching and parsing the drafts
    of the hundreds in flight during a rush."""
    ms = int((time.time() if now is None else now) * 1000)
    return f"{ms:013d}{random.getrandbits(64):016x}"


def reserved_at(reservation: str) -> float | None:
    """When a reservation was made, or None for an id without its time (older versions)."""
    if len(reservation) == 29 and reservation[:13].isdigit():
        return int(reservation[:13]) / 1000
    return None


class ScriptBatch:
    """Runs a Lua script for many callers in one round trip: the calls made in one loop turn go
    out together in a pipeline (each script still runs atomically, in call order).

    A rush of claims is thousands of reservations a second; one EVALSHA each cost a connection
    checkout, a write and a read per call in redis-py, the largest single part of a claim.
    """

    def __init__(self, client: aioredis.Redis, script: Any) -> None:
        self.client = client
        self.script = script
        self._batch: TurnBatch[tuple[list[str], list[Any]], Any] = TurnBatch(self._run, limit=BATCH_CALLS)

    async def __call__(self, *, keys: list[str], args: list[Any]) -> Any:
        return await self._batch((keys, args))

    async def _run(self, calls: list[tuple[list[str], list[Any]]]) -> list[Any]:
        results = await self._evalsha(calls)
        missing = [i for i, result in enumerate(results) if isinstance(result, NoScriptError)]
        if missing:
            # The server lost its scripts (a restart, SCRIPT FLUSH): load it, run those again.
            await self.client.script_load(self.script.script)
            for i, result in zip(missing, await self._evalsha([calls[i] for i in missing]), strict=True):
                results[i] = result
        return results

    async def _evalsha(self, calls: list[tuple[list[str], list[Any]]]) -> list[Any]:
        # EVALSHA itself, not redis-py's Script on the pipeline: that asks SCRIPT EXISTS before
        # every pipeline, a second round trip per batch.
        sha = self.script.sha
        async with self.client.pipeline(transaction=False) as pipe:
            for keys, args in calls:
                pipe.evalsha(sha, len(keys), *keys, *args)
            return list(await pipe.execute(raise_on_error=False))


class RedisOrderPlacement:
    def __init__(self, db: Database, orders: SqlOrders, client: aioredis.Redis, clock: Callable[[], datetime]) -> None:
        self.db = db
        self.orders = orders
        self.redis = client
        self.clock = clock
        # Keys are namespaced by database, so test databases (and deployments) sharing one Redis
        # never see each other's counters.
        self.ns = "fc:" + hashlib.sha1(db.url.encode()).hexdigest()[:10]
        self._reserve_script = client.register_script(redis_scripts.RESERVE)
        self._reserve = ScriptBatch(client, self._reserve_script)
        self._release = client.register_script(redis_scripts.RELEASE)
        self._seed = client.register_script(redis_scripts.SEED)
        self._adjust = client.register_script(redis_scripts.ADJUST)
        # Orders waiting to be written in the next batch, and the task writing them.
        self._queue: list[tuple[str, OrderDraft, asyncio.Future[Order]]] = []
        self._writer: asyncio.Task[None] | None = None
        # counter key -> until when (monotonic) this node answers "sold out" without the script.
        # Units given back by a cancellation show up after this long at most.
        self._sold_out: dict[str, float] = {}

    # -- keys -----------------------------------------------------------------------------------

    def _counter(self, draft_product: int, claim_id: int | None) -> tuple[str, str]:
        if claim_id is not None:
            return f"{self.ns}:claim:{claim_id}:left", f"{self.ns}:claim:{claim_id}:taken"
        return f"{self.ns}:stock:{draft_product}", f"{self.ns}:stock:{draft_product}:none"

    def _idem(self, user_id: int, key: str) -> str:
        return f"{self.ns}:idem:{user_id}:{key}"

    @property
    def _pending(self) -> str:
        return f"{self.ns}:pending"

    # -- placing --------------------------------------------------------------------------------

    async def place(self, draft: OrderDraft) -> tuple[Order, bool]:
        counter, taken = self._counter(draft.product_id, draft.claim_id)
        limit = draft.claim_limit if draft.claim_id is not None else 0
        if limit and draft.quantity > limit:
            raise ClaimLimitReached(f"at most {limit} per buyer")
        if self._sold_out.get(counter, 0.0) > time.monotonic():
            await self._sold_out_answer(draft)
        reservation = new_reservation()
        for _ in range(3):
            status, detail = await self._reserve(
                keys=[self._idem(draft.user_id, draft.idempotency_key), counter, taken, self._pending],
                args=[draft.quantity, draft.user_id, limit, reservation, draft_to_json(draft), draft.request_hash,
                      IDEMPOTENCY_TTL_S],
            )
            status, detail = _text(status), _text(detail)
            if status == "ok":
                # Shielded: a client dropping mid-request must not leave the unit taken and no order
                # (the order is queued before this awaits, and written whether anyone waits or not).
                return await asyncio.shield(self._complete(reservation, draft)), True
            if status == "sold_out":
                if int(detail or 0) <= 0:
                    self._sold_out[counter] = time.monotonic() + SOLD_OUT_MEMORY_S
                raise SoldOut("all gone: every unit has been taken" if draft.claim_id else "sold out: not enough stock for that quantity")
            if status == "limit":
                raise ClaimLimitReached(f"at most {limit} per buyer: you have claimed yours")
            if status == "unseeded":
                await self.seed(draft.product_id, draft.claim_id)
                continue
            if status == "dup":
                return await self._duplicate(detail, draft), False
        raise Conflict("could not take stock; try again")

    async def _sold_out_answer(self, draft: OrderDraft) -> None:
        """Gone on this node a moment ago: no script run, but a retry still gets its order."""
        reserved = await self.redis.get(self._idem(draft.user_id, draft.idempotency_key))
        if reserved is not None:
            return  # this key reserved a unit before: the script answers "dup" with it
        raise SoldOut("all gone: every unit has been taken" if draft.claim_id else "sold out: not enough stock for that quantity")

    async def _duplicate(self, detail: str, draft: OrderDraft) -> Order:
        reservation, _, request_hash = detail.partition("|")
        if request_hash != draft.request_hash:
            raise IdempotencyKeyReused("this idempotency key was used for a different order")
        for _ in range(50):
            order = await self.orders.by_key(draft.user_id, draft.idempotency_key)
            if order is not None:
                return replay(order, draft)
            pending = await self.redis.hget(self._pending, reservation)
            if pending is not None:
                # The first request's unit is taken but its order not written (yet, or ever):
                # writing it here is safe, since the write is idempotent by key.
                first = draft_from_json(_text(pending))
                return await asyncio.shield(self._complete(reservation, first))
            await asyncio.sleep(0.05)
        raise Conflict("the first request with this key is still being processed; try again")

    def _complete(self, reservation: str, draft: OrderDraft) -> asyncio.Future[Order]:
        """Queue the order for a reservation, to be written with the others arriving at the same
        moment; the future has the order once it is.

        A rush has hundreds of winners within a second: one transaction (and one INSERT) for all
        of them, instead of one each fighting over the connection pool. A plain function, not a
        coroutine: the order is queued the moment the unit is taken, and shielding the future
        costs no task per order.
        """
        future: asyncio.Future[Order] = asyncio.get_running_loop().create_future()
        self._queue.append((reservation, draft, future))
        if self._writer is None or self._writer.done():
            self._writer = asyncio.ensure_future(self._write_batches())
        return future

    async def _write_batches(self) -> None:
        while self._queue:
            batch, self._queue = self._queue[:WRITE_BATCH], self._queue[WRITE_BATCH:]
            try:
                await self._write_batch(batch)
            except Exception:  # noqa: BLE001  (any failure: retry the orders one by one)
                # Something in the batch would not go in (a duplicate key, a used coupon, the
                # database gone): each order on its own, so one cannot sink the others.
                for reservation, draft, future in batch:
                    if future.done():
                        continue
                    try:
                        future.set_result(await self._complete_one(reservation, draft))
                    except Exception as exc:  # noqa: BLE001  (handed to the waiting request)
                        future.set_exception(exc)
            # Let the requests whose units were just taken reach the queue before the next batch.
            await asyncio.sleep(0)

    async def _write_batch(self, batch: list[tuple[str, OrderDraft, asyncio.Future[Order]]]) -> None:
        now = self.clock()
        plain: list[tuple[str, OrderDraft, asyncio.Future[Order]]] = []
        other: list[tuple[str, OrderDraft, asyncio.Future[Order]]] = []
        for item in batch:  # one pass: a backlog makes batches of hundreds
            (plain if item[1].coupon_code is None and item[1].group_buy_id is None else other).append(item)
        async with self.db.engine.begin() as conn:
            orders: list[tuple[asyncio.Future[Order], Order]] = []
            if plain:
                orders += zip([f for _, _, f in plain], await insert_orders(conn, [d for _, d, _ in plain], now=now, stock_applied=False), strict=True)
            for _, draft, future in other:
                orders.append((future, await insert_order(self.db, conn, draft, now=now, stock_applied=False)))
        await self.redis.hdel(self._pending, *(reservation for reservation, _, _ in batch))
        for future, order in orders:
            if not future.done():
                future.set_result(order)

    async def _complete_one(self, reservation: str, draft: OrderDraft) -> Order:
        """Write the order for a reservation; idempotent (the key is unique in SQL)."""
        try:
            # A Core connection, not an ORM session: every winner of a rush passes through here.
            async with self.db.engine.begin() as conn:
                order = await insert_order(self.db, conn, draft, now=self.clock(), stock_applied=False)
        except IntegrityError:
            existing = await self.orders.by_key(draft.user_id, draft.idempotency_key)
            if existing is None:
                raise
            await self.redis.hdel(self._pending, reservation)
            return existing
        except CouponUsed:
            await self._give_back(draft, reservation)
            raise
        await self.redis.hdel(self._pending, reservation)
        return order

    async def _give_back(self, draft: OrderDraft, reservation: str = "") -> None:
        counter, taken = self._counter(draft.product_id, draft.claim_id)
        self._sold_out.pop(counter, None)
        limit = draft.claim_limit if draft.claim_id is not None else 0
        await self._release(
            keys=[counter, taken, self._idem(draft.user_id, draft.idempotency_key), self._pending],
            args=[draft.quantity, draft.user_id, limit or (1 if draft.claim_id else 0), reservation],
        )

    async def release(self, order: Order) -> None:
        await self._give_back(order.draft)

    # -- counters -------------------------------------------------------------------------------

    async def seed(self, product_id: int, claim_id: int | None) -> None:
        """Set a missing counter from SQL: the stored value less what Redis took and SQL has not applied."""
        products, claims, takes = await self.orders.unapplied()
        counter, taken = self._counter(product_id, claim_id)
        async with self.db.session() as s:
            if claim_id is not None:
                remaining = (await s.execute(select(col(FlashClaimRow.remaining)).where(col(FlashClaimRow.id) == claim_id))).scalar_one()
                left = remaining - claims.get(claim_id, 0)
                per_buyer = {r.user_id: r.taken for r in (await s.execute(
                    select(ClaimTakeRow).where(col(ClaimTakeRow.claim_id) == claim_id))).scalars()}
                for (cid, uid), n in takes.items():
                    if cid == claim_id:
                        per_buyer[uid] = per_buyer.get(uid, 0) + n
            else:
                stock = (await s.execute(select(col(ProductRow.stock)).where(col(ProductRow.id) == product_id))).scalar_one()
                left = stock - products.get(product_id, 0)
                per_buyer = {}
        pairs: list[Any] = []
        for uid, n in per_buyer.items():
            if n > 0:
                pairs += [uid, n]
        await self._seed(keys=[counter, taken], args=[max(0, left), *pairs])

    async def adjust_stock(self, product_id: int, delta: int) -> None:
        """Operator stock changes reach the hot counter first, so it never sells what SQL took away."""
        counter, _ = self._counter(product_id, None)
        self._sold_out.pop(counter, None)
        result = int(await self._adjust(keys=[counter], args=[delta]))
        if result < 0:
            raise Conflict("not enough stock left to take that many away")

    async def left(self, product_id: int, claim_id: int | None) -> int | None:
        counter, _ = self._counter(product_id, claim_id)
        value = await self.redis.get(counter)
        return int(value) if value is not None else None

    # -- recovery -------------------------------------------------------------------------------

    async def reconcile(self, older_than_s: float = 0.0) -> int:
        """Complete every reservation that has no order yet (crash between Redis and SQL)."""
        done = 0
        now = time.time()
        # The ids first: during a rush hundreds are in flight, and only the old ones are read.
        due = []
        for key in await self.redis.hkeys(self._pending):
            reservation = _text(key)
            at = reserved_at(reservation)
            if at is None or now - at >= older_than_s:
                due.append(reservation)
        if not due:
            return 0
        for reservation, text in zip(due, await self.redis.hmget(self._pending, due), strict=True):
            if text is None:  # completed meanwhile
                continue
            draft = draft_from_json(_text(text))
            try:
                await self._complete_one(reservation, draft)
                done += 1
            except CouponUsed:
                logger.warning("reservation dropped: coupon used twice", extra={"order": reservation})
        if done:
            logger.warning("reconciled %d reservations that had no order", done)
        return done


def redis_client(url: str) -> aioredis.Redis:
    # A bounded pool: thousands of concurrent claims queue for a connection instead of opening one
    # each. No CLIENT SETINFO: redis-py reads its own package metadata for it on every new
    # connection, which costs more than the connection itself in a rush.
    pool = aioredis.BlockingConnectionPool.from_url(url, max_connections=128, timeout=60, driver_info=None)
    return aioredis.Redis(connection_pool=pool)
