"""Live rooms: what an operator creates and a host broadcasts into."""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from enum import StrEnum

from .accounts.tokens import hash_secret, new_secret
from .errors import InvalidInput

ROOM_ID = re.compile(r"^[a-z0-9][a-z0-9-]{1,62}$")


class Orientation(StrEnum):
    PORTRAIT = "portrait"  # 720x1280: how phone hosts broadcast and phone viewers watch
    LANDSCAPE = "landscape"  # 1280x720

    @property
    def size(self) -> tuple[int, int]:
        return (720, 1280) if self is Orientation.PORTRAIT else (1280, 720)


@dataclass(frozen=True)
class Room:
    id: str
    title: str
    brand: str
    orientation: Orientation
    stream_key_hash: str
    created_at: datetime
    # The demo farm room: a synthetic camera plays whenever no host is publishing.
    demo_source: bool = False

    @property
    def size(self) -> tuple[int, int]:
        return self.orientation.size


def validate_room_id(room_id: str) -> str:
    if not ROOM_ID.match(room_id):
        raise InvalidInput(
            "room id must be 2-63 characters of a-z, 0-9 and '-', starting with a letter or digit"
        )
    return room_id


def new_room(
    room_id: str,
    title: str,
    *,
    brand: str = "",
    orientation: Orientation = Orientation.PORTRAIT,
    demo_source: bool = False,
    now: datetime | None = None,
) -> tuple[Room, str]:
    """A new room and its stream key (returned once, stored only as a hash)."""
    title = title.strip()
    if not title or len(title) > 120:
        raise InvalidInput("title must be 1-120 characters")
    if len(brand) > 60:
        raise InvalidInput("brand must be at most 60 characters")
    key = new_secret("sk")
    room = Room(
        id=validate_room_id(room_id),
        title=title,
        brand=brand.strip(),
        orientation=orientation,
        stream_key_hash=hash_secret(key),
        created_at=now or datetime.now(UTC),
        demo_source=demo_source,
    )
    return room, key


def rotate_stream_key(room: Room) -> tuple[Room, str]:
    key = new_secret("sk")
    return replace(room, stream_key_hash=hash_secret(key)), key
