"""A live session: one broadcast of a room, the products on sale in it, and what was pinned when."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class LiveSession:
    id: int | None
    room_id: str
    title: str
    started_at: datetime
    ended_at: datetime | None = None
    product_ids: tuple[int, ...] = ()

    @property
    def open(self) -> bool:
        return self.ended_at is None


@dataclass(frozen=True)
class Pin:
    """The host explaining (讲解) one product: kept so a replay shows it at the same moment."""

    id: int | None
    session_id: int
    product_id: int
    pinned_at: datetime
    unpinned_at: datetime | None = None
