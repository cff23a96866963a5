"""Product photos on disk: checked by content, re-encoded as a plain JPEG (no EXIF, no GPS) at most
1080 px on the long side, named by the hash of what was kept. Pillow work runs in a thread."""

from __future__ import annotations

import asyncio
import hashlib
import io
import logging
import re
from pathlib import Path

from PIL import Image, ImageOps

from ..domain.errors import InvalidInput
from ..domain.pixels import pixels_only

logger = logging.getLogger(__name__)

MAX_BYTES = 8 * 1024 * 1024
MAX_PIXELS = 8000 * 8000
LONG_SIDE = 1080
NAME = re.compile(r"^[0-9a-f]{64}\.jpg$")
URL_PREFIX = "/media/products/"


def _reencode(data: bytes) -> bytes:
    if len(data) > MAX_BYTES:
        raise InvalidInput("a photo may be at most 8 MB")
    try:
        with Image.open(io.BytesIO(data)) as probe:
            if probe.format not in ("JPEG", "PNG", "WEBP"):
                raise InvalidInput("photos must be JPEG, PNG or WebP")
            if probe.width * probe.height > MAX_PIXELS:
                raise InvalidInput("a photo may be at most 8000x8000 pixels")
            probe.load()
            picture = ImageOps.exif_transpose(probe).convert("RGB")
    except InvalidInput:
        raise
    except (OSError, ValueError, Image.DecompressionBombError) as exc:
        raise InvalidInput("that is not a photo this server can read") from exc
    picture.thumbnail((LONG_SIDE, LONG_SIDE), Image.Resampling.LANCZOS)
    out = io.BytesIO()
    # No exif= argument and info (the source's comment) cleared: only the pixels are kept.
    pixels_only(picture).save(out, "JPEG", quality=85, optimize=True)
    return out.getvalue()


class DiskProductPhotos:
    def __init__(self, root: Path) -> None:
        self.root = Path(root) / "products"

    async def save(self, data: bytes) -> str:
        """Store the photo; returns its URL (the same photo twice is stored once)."""
        jpeg = await asyncio.to_thread(_reencode, data)
        name = hashlib.sha256(jpeg).hexdigest() + ".jpg"
        path = self.root / name
        if not path.exists():
            await asyncio.to_thread(self._write, path, jpeg)
        return URL_PREFIX + name

    @staticmethod
    def _write(path: Path, data: bytes) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".part")
        tmp.write_bytes(data)
        tmp.replace(path)  # atomic: a reader never sees half a photo

    def path(self, name: str) -> Path | None:
        if not NAME.match(name):
            return None
        path = self.root / name
        return path if path.is_file() else None

    async def read(self, url: str) -> bytes | None:
        if not url.startswith(URL_PREFIX):
            return None
        path = self.path(url.removeprefix(URL_PREFIX))
        return await asyncio.to_thread(path.read_bytes) if path is not None else None
