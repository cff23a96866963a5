"""What the trace domain needs from persistence."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from .batches import Batch, Product
from .checkpoints import Checkpoint
from .epcis import PreparedEvent
from .merkle import Key


@dataclass(frozen=True)
class LoggedEvent:
    seq: int  # the leaf index in the log
    event_hash: str
    body: str  # the leaf data: the stored event text
    event_type: str
    biz_step: str
    event_time: datetime
    declares_error: bool


# Signs (size, root) into a checkpoint; called inside the append, so every size has one.
Signer = Callable[[int, bytes], Checkpoint]


class TraceLog(Protocol):
    @property
    def state(self) -> str:
        """Where proofs are served from, for operators: "memory", "loading" or "damaged"."""
    async def append(
        self, events: list[PreparedEvent], batch_ids: list[list[int]], sign: Signer
    ) -> tuple[list[LoggedEvent], Checkpoint]:
        """Append in order, all or nothing, and sign the new tree head."""
    async def find(self, keys: Iterable[tuple[str, bool]]) -> dict[tuple[str, bool], LoggedEvent]:
        """Logged events by (event hash, declares error)."""
    async def events_of_batch(self, batch_id: int) -> list[LoggedEvent]: ...
    async def events(self, seqs: Iterable[int]) -> list[LoggedEvent]: ...
    async def size(self) -> int: ...
    async def latest_checkpoint(self) -> Checkpoint | None: ...
    async def checkpoint(self, size: int) -> Checkpoint | None: ...
    async def nodes(self, keys: Iterable[Key]) -> dict[Key, bytes]:
        """Complete-subtree hashes for proofs (a store may serve them from a verified copy in memory)."""
    async def stored_nodes(self, keys: Iterable[Key]) -> dict[Key, bytes]:
        """The same, read from storage every time: what the verifier checks."""
    async def earliest(self, batch_ids: Iterable[int], biz_step: str) -> dict[int, datetime]:
        """Per batch, the earliest eventTime of its `biz_step` events (error declarations aside)."""


class TraceCatalog(Protocol):
    async def add_product(self, product: Product) -> Product: ...
    async def get_product(self, gtin: str) -> Product | None: ...
    async def add_batch(self, batch: Batch) -> Batch:
        """Raises Conflict when the GTIN + lot exists."""
    async def get_batch(self, gtin: str, lot: str) -> Batch | None: ...
    async def get_batch_by_id(self, batch_id: int) -> Batch | None: ...
    async def batches(self, keys: Iterable[tuple[str, str]]) -> dict[tuple[str, str], Batch]: ...
    async def batch_ids(self, keys: Iterable[tuple[str, str]]) -> dict[tuple[str, str], int]:
        """Ids of registered batches (they never change, so a store may remember them)."""
    async def list_batches(self, limit: int = 200) -> list[Batch]: ...
    async def flag(self, batch_id: int, reason: str) -> None: ...
