"""Review photos (晒单): an untrusted upload in, checked by its content, fresh JPEG renditions out.

The type comes from the bytes, never from the file name or the declared content type; the size is
read from the header and refused before any pixel is decoded (decompression bombs); a cut-off file
is refused rather than padded with grey. Only pixels survive: the renditions are encoded anew, so
EXIF (GPS position, camera serial numbers), XMP and comments never reach other people.
Blocking (decode, resize, encode): run `process_photo` in an executor.
"""

from __future__ import annotations

import hashlib
import io
import logging
from dataclasses import dataclass

from PIL import Image, ImageCms, ImageOps, UnidentifiedImageError

from ..errors import InvalidInput
from ..pixels import pixels_only

logger = logging.getLogger(__name__)

MAX_BYTES = 8 * 1024 * 1024
MAX_SIDE = 8000
# 40 MP: any phone's normal photo (a 200 MP sensor's full-resolution mode is refused by MAX_SIDE).
MAX_PIXELS = 40_000_000
THUMB = 320  # long side of the wall's and the ticker's thumbnail
LARGE = 1080  # long side of the photo a viewer opens
SIZES = (THUMB, LARGE)
# Pillow's format names -> ours. HEIC only decodes when a plugin (pillow-heif) has registered it.
_FORMATS = {"JPEG": "jpeg", "PNG": "png", "WEBP": "webp", "HEIF": "heic"}
_QUALITY = {THUMB: 80, LARGE: 85}
_SRGB = ImageCms.createProfile("sRGB")


class BadPhoto(InvalidInput):
    code = "bad_photo"


class PhotoTooLarge(InvalidInput):
    code = "photo_too_large"


@dataclass(frozen=True)
class Rendition:
    size: int  # the nominal long side: THUMB or LARGE
    width: int
    height: int
    jpeg: bytes


@dataclass(frozen=True)
class ProcessedPhoto:
    sha256: str  # of the large rendition: the photo's name on disk and in URLs
    source_format: str  # what the upload really was: "jpeg", "png", "webp" or "heic"
    renditions: tuple[Rendition, ...]  # one per SIZES entry, in that order

    def rendition(self, size: int) -> Rendition:
        return next(r for r in self.renditions if r.size == size)


def accepted_formats() -> list[str]:
    """The decoders this process has for photos (HEIC only with a plugin)."""
    Image.init()
    return [name for name in _FORMATS if name in Image.OPEN]


def describe_formats() -> str:
    return ", ".join(_FORMATS[name].upper() for name in accepted_formats())


def process_photo(data: bytes) -> ProcessedPhoto:
    """Check one upload and make its renditions. Raises BadPhoto or PhotoTooLarge."""
    if not data:
        raise BadPhoto("the photo is empty")
    if len(data) > MAX_BYTES:
        raise PhotoTooLarge(f"a photo may be at most {MAX_BYTES // (1024 * 1024)} MB")
    formats = accepted_formats()
    try:
        # `formats` limits the decoders Pillow tries to ours: a GIF, TIFF or PSD is refused here.
        with Image.open(io.BytesIO(data), formats=formats) as image:
            source = _FORMATS[str(image.format)]
            width, height = image.size
            if width > MAX_SIDE or height > MAX_SIDE or width * height > MAX_PIXELS:
                raise PhotoTooLarge(
                    f"the photo is {width}x{height}; at most {MAX_SIDE}x{MAX_SIDE} and "
                    f"{MAX_PIXELS // 1_000_000} megapixels"
                )
            if image.format == "JPEG":
                # Decode at 1/2, 1/4 or 1/8 scale when that still covers the large rendition:
                # a 12 MP photo costs a quarter of the memory and time.
                scale = LARGE / max(width, height)
                image.draft("RGB", (max(1, round(width * scale)), max(1, round(height * scale))))
            image.load()  # raises on a truncated file (LOAD_TRUNCATED_IMAGES stays off)
            picture = _upright_srgb(image)
    except Image.DecompressionBombError as exc:
        raise PhotoTooLarge(f"the photo is larger than {MAX_SIDE}x{MAX_SIDE}") from exc
    except UnidentifiedImageError as exc:
        raise BadPhoto(f"not a photo this server reads ({describe_formats()})") from exc
    except (OSError, SyntaxError, ValueError, EOFError) as exc:
        # Pillow reports truncated and corrupt data as OSError (and a few plugins as the others).
        logger.info("unreadable photo upload: %s", exc)
        raise BadPhoto("the photo is damaged or cut off: upload it again") from exc

    large_picture = _fit(picture, LARGE)
    large = _encode(large_picture, LARGE)
    thumb = _encode(_fit(large_picture, THUMB), THUMB)  # from the large one: a fraction of the work
    return ProcessedPhoto(hashlib.sha256(large.jpeg).hexdigest(), source, (thumb, large))


def _upright_srgb(image: Image.Image) -> Image.Image:
    """The pixels as the camera meant them: turned by the EXIF orientation, in sRGB, no alpha."""
    picture = ImageOps.exif_transpose(image)
    icc = image.info.get("icc_profile")
    if icc and picture.mode in ("RGB", "RGBA", "CMYK"):
        try:
            # Phones shoot in Display P3; without this the re-encoded photo would look washed out.
            source = ImageCms.ImageCmsProfile(io.BytesIO(icc))
            output = "RGBA" if picture.mode == "RGBA" else "RGB"
            converted = ImageCms.profileToProfile(picture, source, _SRGB, outputMode=output)
            if converted is not None:
                picture = converted
        except (ImageCms.PyCMSError, OSError, ValueError):
            logger.info("ignored an unusable colour profile in a photo upload")
    if picture.mode in ("RGBA", "LA", "PA") or (picture.mode == "P" and "transparency" in picture.info):
        # Transparent PNGs go onto white, as a shop shows a cut-out product.
        rgba = picture.convert("RGBA")
        flat = Image.new("RGB", rgba.size, (255, 255, 255))
        flat.paste(rgba, mask=rgba.getchannel("A"))
        return flat
    return picture.convert("RGB")


def _fit(picture: Image.Image, size: int) -> Image.Image:
    copy = picture.copy()
    copy.thumbnail((size, size), Image.Resampling.LANCZOS)  # never enlarges
    return copy


def _encode(picture: Image.Image, size: int) -> Rendition:
    out = io.BytesIO()
    # Neither exif nor icc_profile is passed and info (the source's comment) is cleared, so the file
    # carries pixels and nothing else.
    pixels_only(picture).save(out, "JPEG", quality=_QUALITY[size], optimize=True, progressive=True)
    return Rendition(size, picture.width, picture.height, out.getvalue())
