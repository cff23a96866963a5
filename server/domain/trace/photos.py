"""Step photos: any common image in, a bounded, metadata-free JPEG out, named by its SHA-256."""

from __future__ import annotations

import hashlib
import io
from dataclasses import dataclass

from PIL import Image, ImageOps, UnidentifiedImageError

from ..errors import InvalidInput
from ..pixels import pixels_only

MAX_SIDE = 1600
MAX_PIXELS = 40_000_000  # refuse decompression bombs before decoding


class BadPhoto(InvalidInput):
    code = "bad_photo"


@dataclass(frozen=True)
class Photo:
    sha256: str
    width: int
    height: int
    jpeg: bytes

    @property
    def uri(self) -> str:
        """How an event names the photo: RFC 6920, the same scheme as event hash ids."""
        return f"ni:///sha-256;{self.sha256}"


def normalise_photo(data: bytes) -> Photo:
    """Decode, orient, shrink and re-encode: only the pixels are kept (no EXIF/GPS, no comment).
    The hash on the log is of this re-encoded JPEG, so what is served is exactly what was hashed.
    Blocking: run it in an executor."""
    try:
        with Image.open(io.BytesIO(data)) as image:
            if image.width * image.height > MAX_PIXELS:
                raise BadPhoto("the photo is too large (at most 40 megapixels)")
            if image.format not in ("JPEG", "PNG", "WEBP"):
                raise BadPhoto("photos must be JPEG, PNG or WebP")
            picture = ImageOps.exif_transpose(image).convert("RGB")
    except (UnidentifiedImageError, OSError, Image.DecompressionBombError) as exc:
        raise BadPhoto("the body is not a readable image") from exc
    picture.thumbnail((MAX_SIDE, MAX_SIDE), Image.Resampling.LANCZOS)
    out = io.BytesIO()
    pixels_only(picture).save(out, "JPEG", quality=85, optimize=True, progressive=True)
    jpeg = out.getvalue()
    return Photo(hashlib.sha256(jpeg).hexdigest(), picture.width, picture.height, jpeg)
