"""Capturing events into the log and reading a batch's verifiable trail back out."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from ..errors import NotFound
from . import merkle
from .batches import Batch, Product, UnknownBatch, UnknownBatchInEvent, batch_key
from .checkpoints import Checkpoint, NoteSigner
from .epcis import BadEvent, PreparedEvent, events_in, iso, prepare_all
from .event_hash import context_prefixes, event_hash_id
from .ports import LoggedEvent, TraceCatalog, TraceLog

logger = logging.getLogger(__name__)

OFFLOAD_EVENTS = 32  # captures of this many events or more are prepared off the event loop
# Runs a pure function elsewhere (a worker process) and awaits its result.
Blocking = Callable[..., Awaitable[Any]]


class UnknownEvent(NotFound):
    code = "unknown_event"


@dataclass(frozen=True)
class Captured:
    event_id: str
    seq: int
    new: bool  # False when the same event was already logged (a retried capture)


@dataclass(frozen=True)
class _Pending:
    prepared: list[PreparedEvent]
    batch_ids: list[list[int]]
    done: asyncio.Future[list[Captured]]


@dataclass(frozen=True)
class Trail:
    """A batch's events with inclusion proofs against one signed checkpoint."""

    batch: Batch
    events: list[LoggedEvent]
    proofs: list[list[bytes]]
    checkpoint: Checkpoint | None


@dataclass(frozen=True)
class Verdict:
    ok: bool
    checked: int
    failures: list[str]


class TraceService:
    def __init__(
        self,
        catalog: TraceCatalog,
        log: TraceLog,
        signer: NoteSigner,
        origin: str,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        run_blocking: Blocking | None = None,
    ) -> None:
        self.catalog = catalog
        self.run_blocking = run_blocking
        self.log = log
        self.signer = signer
        self.origin = origin
        self.clock = clock
        # One append at a time per node; the store serialises nodes (row lock on the head).
        self._append_lock = asyncio.Lock()
        self._waiting: list[_Pending] = []  # captures checked and waiting to be written
        # Told about newly logged events (sensor links from AssociationEvents), after the append.
        self.listeners: list[Callable[[list[LoggedEvent]], Awaitable[None]]] = []

    def _sign(self, size: int, root: bytes) -> Checkpoint:
        return self.signer.sign(self.origin, size, root, self.clock())

    # -- products and batches -------------------------------------------------------------------

    async def add_product(self, gtin: str, name: str, band: Any = None) -> Product:
        gtin, _ = batch_key(gtin, "x")
        return await self.catalog.add_product(Product(gtin, name.strip(), band))

    async def add_batch(self, gtin: str, lot: str, farm: str) -> Batch:
        gtin, lot = batch_key(gtin, lot)
        product = await self.catalog.get_product(gtin)
        if product is None:
            raise NotFound(f"no product with GTIN {gtin}: register it first")
        return await self.catalog.add_batch(
            Batch(None, gtin, lot, product.name, farm.strip(), self.clock())
        )

    async def batch(self, gtin: str, lot: str) -> Batch:
        gtin, lot = batch_key(gtin, lot)
        found = await self.catalog.get_batch(gtin, lot)
        if found is None:
            raise UnknownBatch(f"no batch {lot!r} of GTIN {gtin}")
        return found

    # -- capture --------------------------------------------------------------------------------

    async def capture(self, payload: Any) -> list[Captured]:
        now = self.clock()
        events, context = events_in(payload)
        if len(events) >= OFFLOAD_EVENTS and self.run_blocking is not None:
            # ~0.1 ms of checking and hashing per event: a big document would hold the event loop
            # (chat, live rooms) for tens of milliseconds, so it is prepared in a worker process.
            prepared = await self.run_blocking(prepare_all, events, context, now)
        else:
            prepared = prepare_all(events, context, now)
        return await self.append(prepared)

    async def append(self, prepared: list[PreparedEvent]) -> list[Captured]:
        known = await self.catalog.batch_ids({key for p in prepared for key in p.batches})
        batch_ids: list[list[int]] = []
        for i, p in enumerate(prepared):
            label = f"eventList[{i}]: " if len(prepared) > 1 else ""
            if not p.batches:
                raise BadEvent(
                    f"{label}the event names no batch: put the batch in a quantity list as "
                    "https://id.gs1.org/01/{GTIN}/10/{lot} (or urn:epc:class:lgtin:...)"
                )
            missing = [k for k in p.batches if k not in known]
            if missing:
                gtin, lot = missing[0]
                raise UnknownBatchInEvent(f"{label}no batch {lot!r} of GTIN {gtin} is registered")
            batch_ids.append([known[k] for k in p.batches])

        # Group commit: captures that arrive while one is being written wait for the lock, and the
        # first of them to get it writes them all in one transaction under one signed checkpoint.
        # Each is still checked on its own and refused on its own (all or nothing, per capture).
        mine = _Pending(prepared, batch_ids, asyncio.get_running_loop().create_future())
        self._waiting.append(mine)
        new: list[LoggedEvent] = []
        async with self._append_lock:
            if self._waiting:
                group, self._waiting = self._waiting, []
                # Shielded: a leader whose request goes away still settles everyone it took.
                new = await asyncio.shield(self._write(group))
        for listener in self.listeners:
            if new:
                try:
                    await listener(new)
                except Exception:
                    logger.exception("trace listener failed")
        return await mine.done

    async def _write(self, group: list[_Pending]) -> list[LoggedEvent]:
        try:
            return await self._write_group(group)
        finally:
            for c in group:  # settled whatever happened: nobody waits forever
                if not c.done.done():
                    c.done.cancel()

    async def _write_group(self, group: list[_Pending]) -> list[LoggedEvent]:
        try:
            everything = [p for c in group for p in c.prepared]
            existing = await self.log.find((p.event_hash, p.declares_error) for p in everything)
            declared = await self.log.find((p.event_hash, False) for p in everything if p.declares_error)
            # When each batch was harvested: one read for the whole group, not per event.
            harvested = await self.log.earliest({b for c in group for ids in c.batch_ids for b in ids}, "commissioning")
        except Exception as exc:  # noqa: BLE001 (handed to every waiting capture, raised there)
            for c in group:
                c.done.set_exception(exc)
            return []
        seqs: dict[tuple[str, bool], int] = {key: event.seq for key, event in existing.items()}
        todo: dict[tuple[str, bool], tuple[PreparedEvent, list[int], _Pending]] = {}
        accepted: list[_Pending] = []
        for c in group:
            try:
                await self._check(c, declared, harvested, todo)
            except Exception as exc:  # noqa: BLE001 (refused, or the store failed: raised in this capture only)
                c.done.set_exception(exc)
                continue
            accepted.append(c)
            for p, ids in zip(c.prepared, c.batch_ids):
                key = (p.event_hash, p.declares_error)
                if key not in seqs and key not in todo:
                    todo[key] = (p, ids, c)
                if p.biz_step == "commissioning" and not p.declares_error:
                    for b in ids:  # later captures of the group see this harvest
                        harvested[b] = min(harvested.get(b, p.event_time), p.event_time)
        new: list[LoggedEvent] = []
        if todo:
            try:
                new, checkpoint = await self.log.append([p for p, _, _ in todo.values()],
                                                        [ids for _, ids, _ in todo.values()], self._sign)
            except Exception as exc:  # noqa: BLE001 (raised in every capture of the transaction)
                for c in accepted:
                    c.done.set_exception(exc)
                return []
            logger.info("logged %d trace events from %d capture(s); tree size %d", len(new), len(accepted), checkpoint.size)
            for event in new:
                seqs[(event.event_hash, event.declares_error)] = event.seq
        for c in accepted:
            c.done.set_result([
                Captured(p.event_hash, seqs[(p.event_hash, p.declares_error)],
                         todo.get((p.event_hash, p.declares_error), (None, None, None))[2] is c)
                for p in c.prepared
            ])
        return new

    async def _check(self, c: _Pending, declared: dict[tuple[str, bool], LoggedEvent], harvested: dict[int, datetime],
                     todo: dict[tuple[str, bool], Any]) -> None:
        """One capture's checks against the log and the captures before it in its group."""
        in_capture = {p.event_hash for p in c.prepared}
        for i, p in enumerate(c.prepared):
            label = f"eventList[{i}]: " if len(c.prepared) > 1 else ""
            if p.declares_error:
                if (p.event_hash, False) not in declared and (p.event_hash, False) not in todo:
                    raise UnknownEvent(f"{label}the error declaration names no logged event ({p.event_hash})")
                logged_ids = await self.log.find((x, False) for x in p.corrective_ids)
                for x in p.corrective_ids:
                    if (x, False) not in logged_ids and x not in in_capture and (x, False) not in todo:
                        raise UnknownEvent(f"{label}corrective event {x} is neither logged nor in this capture")
            elif p.biz_step != "commissioning":
                self._check_order(p, c.batch_ids[i], harvested, label)

    @staticmethod
    def _check_order(p: PreparedEvent, batch_ids: list[int], harvest: dict[int, datetime], label: str) -> None:
        for batch_id in batch_ids:
            harvested = harvest.get(batch_id)
            if harvested is not None and p.event_time < harvested:
                raise BadEvent(
                    f"{label}eventTime {iso(p.event_time)} is before the batch was harvested ({iso(harvested)}): "
                    "timestamps out of order"
                )

    # -- reading and verifying ------------------------------------------------------------------

    async def trail(self, batch: Batch, *, stored: bool = False) -> Trail:
        """The batch's events and their proofs; `stored` reads the proofs' nodes from storage."""
        assert batch.id is not None
        checkpoint = await self.log.latest_checkpoint()
        events = await self.log.events_of_batch(batch.id)
        if checkpoint is None:
            return Trail(batch, [], [], None)
        events = [e for e in events if e.seq < checkpoint.size]
        plans = [merkle.inclusion_plan(e.seq, checkpoint.size) for e in events]
        wanted = set().union(*(merkle.keys_of(p) for p in plans)) if plans else set()
        nodes = await (self.log.stored_nodes(wanted) if stored else self.log.nodes(wanted))
        missing = wanted - nodes.keys()
        if missing:
            # A damaged store: serve what there is, so every verifier sees the proof fail.
            logger.error("trace log is missing %d node(s), e.g. %s", len(missing), min(missing))
            nodes.update({key: bytes(32) for key in missing})
        return Trail(batch, events, [merkle.assemble(p, nodes) for p in plans], checkpoint)

    async def consistency(self, old: int, new: int) -> list[bytes]:
        plan = merkle.consistency_plan(old, new)
        size = await self.log.size()
        if new > size:
            raise merkle.BadProofRequest(f"the log has only {size} entries")
        return merkle.assemble(plan, await self.log.nodes(merkle.keys_of(plan)))

    async def verify_batch(self, batch: Batch) -> Verdict:
        """The server-side verifier: what the trace page checks, computed from what is stored."""
        from .checkpoints import BadCheckpoint, open_checkpoint

        # Everything from storage, not this node's verified copy in memory: this checks the tables.
        trail = await self.trail(batch, stored=True)
        failures: list[str] = []
        if trail.checkpoint is None:
            return Verdict(False, 0, ["no signed checkpoint yet"])
        try:
            head = open_checkpoint(trail.checkpoint.note, self.signer.verifier_key)
        except BadCheckpoint as exc:
            return Verdict(False, 0, [f"checkpoint: {exc.message}"])
        if head.origin != self.origin:
            failures.append(f"checkpoint: origin {head.origin!r} is not this log's ({self.origin!r})")
        leaves = await self.log.stored_nodes((0, e.seq) for e in trail.events)
        for event, proof in zip(trail.events, trail.proofs):
            step = f"event {event.seq}"
            try:
                parsed = json.loads(event.body)
                recomputed = event_hash_id(parsed, context_prefixes(parsed.get("@context")))
            except (ValueError, BadEvent) as exc:
                failures.append(f"{step}: stored event is unreadable ({exc})")
                continue
            if recomputed != parsed.get("eventID") or recomputed != event.event_hash:
                failures.append(f"{step}: event hash does not match its content")
            leaf = merkle.leaf_hash(event.body.encode())
            if leaves.get((0, event.seq)) != leaf:
                failures.append(f"{step}: stored leaf differs from the event")
            if not merkle.verify_inclusion(event.seq, head.size, leaf, proof, head.root):
                failures.append(f"{step}: inclusion proof does not lead to the signed root")
        return Verdict(not failures, len(trail.events), failures)

    async def audit(self) -> Verdict:
        """Recompute the whole tree from the stored events and compare with the latest checkpoint."""
        head = await self.log.latest_checkpoint()
        if head is None:
            return Verdict(True, 0, [])
        failures: list[str] = []
        nodes: dict[merkle.Key, bytes] = {}
        size = 0
        step = 4096
        while size < head.size:
            batch = await self.log.events(range(size, min(head.size, size + step)))
            leaves = [merkle.leaf_hash(e.body.encode()) for e in batch]
            nodes.update(merkle.append(size, {k: nodes[k] for k in merkle.frontier(size)}, leaves))
            size += len(batch)
            nodes = {k: nodes[k] for k in merkle.frontier(size)}  # all a bigger tree still needs
            if not batch:
                failures.append(f"log entries from {size} are missing")
                break
        if not failures and merkle.root_from(head.size, nodes) != head.root:
            failures.append("the stored events do not hash to the signed root")
        return Verdict(not failures, size, failures)


