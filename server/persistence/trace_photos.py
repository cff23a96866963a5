"""Step photos in SQL, addressed by the SHA-256 of the stored JPEG (so events can name them exactly)."""

from __future__ import annotations

from datetime import UTC, datetime

from .db import Database
from .trace_tables import TracePhotoRow


class SqlPhotoStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def put(self, sha256: str, content_type: str, width: int, height: int, data: bytes) -> None:
        async with self.db.session() as s:
            if await s.get(TracePhotoRow, sha256) is None:
                s.add(TracePhotoRow(sha256=sha256, content_type=content_type, width=width, height=height,
                                    data=data, created_at=datetime.now(UTC)))
                await s.commit()

    async def get(self, sha256: str) -> tuple[str, bytes] | None:
        async with self.db.session() as s:
            row = await s.get(TracePhotoRow, sha256)
            return (row.content_type, bytes(row.data)) if row else None
