"""Review photo renditions as files under Settings.media_dir: reviews/ab/abcd…-320.jpg.

Named by the SHA-256 of the large rendition, so a name never changes meaning and can be cached;
written to a temporary name and renamed, so a reader (or a crash) never sees half a file. File
work runs in an executor, off the event loop.
"""

from __future__ import annotations

import asyncio
import logging
import os
import re
import tempfile
from pathlib import Path

from ..domain.voice.review_photos import SIZES, ProcessedPhoto

logger = logging.getLogger(__name__)

_SHA256 = re.compile(r"^[0-9a-f]{64}$")


def valid_name(sha256: str, size: int) -> bool:
    return bool(_SHA256.match(sha256)) and size in SIZES


class DiskPhotoFiles:
    def __init__(self, media_dir: Path) -> None:
        self.root = Path(media_dir) / "reviews"

    def path(self, sha256: str, size: int) -> Path:
        if not valid_name(sha256, size):
            # Names come from URLs: nothing but a hash and a known size may reach the file system.
            raise ValueError(f"not a photo name: {sha256!r} {size!r}")
        return self.root / sha256[:2] / f"{sha256}-{size}.jpg"

    async def put(self, photo: ProcessedPhoto) -> None:
        await asyncio.to_thread(self._write, photo)

    def _write(self, photo: ProcessedPhoto) -> None:
        for rendition in photo.renditions:
            target = self.path(photo.sha256, rendition.size)
            if target.exists():
                continue  # the same photo again: same name, same bytes
            target.parent.mkdir(parents=True, exist_ok=True)
            fd, temporary = tempfile.mkstemp(dir=target.parent, prefix=".upload-", suffix=".jpg")
            try:
                with os.fdopen(fd, "wb") as out:
                    out.write(rendition.jpeg)
                    out.flush()
                    os.fsync(out.fileno())
                os.chmod(temporary, 0o644)
                os.replace(temporary, target)
            except BaseException:
                Path(temporary).unlink(missing_ok=True)
                raise

    async def read(self, sha256: str, size: int) -> bytes | None:
        path = self.path(sha256, size)
        try:
            return await asyncio.to_thread(path.read_bytes)
        except FileNotFoundError:
            logger.warning("review photo missing on disk", extra={"photo": sha256, "size": size})
            return None
