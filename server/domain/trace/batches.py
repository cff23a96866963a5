"""Products (a GTIN, with its cold-chain band) and batches (a GTIN and a lot: one harvest)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime

from ..errors import InvalidInput, NotFound
from .identifiers import batch_uri, normalise_gtin, validate_lot


class UnknownBatch(NotFound):
    code = "unknown_batch"


class UnknownBatchInEvent(InvalidInput):
    """An event names a batch nobody registered: bad input, not a missing page."""

    code = "unknown_batch"


class BadBand(InvalidInput):
    code = "bad_band"


@dataclass(frozen=True)
class ColdChainBand:
    """The allowed range of one quantity, and how long in total the product may spend outside it."""

    quantity: str  # "temperature" or "humidity"
    low: float
    high: float
    max_minutes_outside: float

    def __post_init__(self) -> None:
        if self.quantity not in ("temperature", "humidity"):
            raise BadBand("a band is about temperature or humidity")
        values = (self.low, self.high, self.max_minutes_outside)
        if not all(math.isfinite(v) for v in values):
            raise BadBand("band limits must be finite numbers")
        if self.low >= self.high:
            raise BadBand("the band's low limit must be below its high limit")
        if self.max_minutes_outside < 0:
            raise BadBand("minutes outside the band cannot be negative")

    def contains(self, value: float) -> bool:
        return self.low <= value <= self.high


@dataclass(frozen=True)
class Product:
    gtin: str
    name: str
    band: ColdChainBand | None = None


@dataclass(frozen=True)
class Batch:
    id: int | None
    gtin: str
    lot: str
    product_name: str
    farm: str
    created_at: datetime
    flagged: bool = False
    flag_reason: str = ""

    @property
    def uri(self) -> str:
        return batch_uri(self.gtin, self.lot)

    @property
    def digital_link_path(self) -> str:
        """The path of the batch's GS1 Digital Link on this server: the trace page."""
        return f"/01/{self.gtin}/10/{_path_escape(self.lot)}"


def _path_escape(lot: str) -> str:
    from urllib.parse import quote

    return quote(lot, safe="")


def batch_key(gtin: str, lot: str) -> tuple[str, str]:
    """Validated (GTIN-14, lot)."""
    return normalise_gtin(gtin), validate_lot(lot)


def describe(batch: Batch) -> str:
    return f"{batch.product_name} {batch.lot}"


__all__ = ["Batch", "ColdChainBand", "Product", "UnknownBatch", "batch_key"]
