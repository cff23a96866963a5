"""Review photo uploads: accepted by content, refused when hostile, re-encoded without metadata."""

from __future__ import annotations

import hashlib
import io

import pytest
from PIL import ExifTags, Image

from server.domain.voice.review_photos import (
    LARGE,
    MAX_BYTES,
    THUMB,
    BadPhoto,
    PhotoTooLarge,
    process_photo,
)
from tests.reviews import encoded, gps_jpeg, png_bomb


def photo(size: tuple[int, int] = (1600, 1200), colour: tuple[int, int, int] = (200, 60, 30)) -> Image.Image:
    image = Image.new("RGB", size, colour)
    image.paste((255, 255, 255), (0, 0, size[0] // 4, size[1] // 4))  # a marker in the top-left corner
    return image


def rgb_at(image: Image.Image, xy: tuple[int, int]) -> tuple[int, ...]:
    pixel = image.convert("RGB").getpixel(xy)
    assert isinstance(pixel, tuple)
    return pixel


def test_gps_and_camera_exif_are_gone_from_every_rendition() -> None:
    data = gps_jpeg()
    assert Image.open(io.BytesIO(data)).getexif().get_ifd(ExifTags.IFD.GPSInfo), "the fixture carries GPS"
    assert b"SN-123456789" in data
    result = process_photo(data)
    for rendition in result.renditions:
        with Image.open(io.BytesIO(rendition.jpeg)) as out:
            assert out.format == "JPEG"
            assert dict(out.getexif()) == {}
            assert "exif" not in out.info and "icc_profile" not in out.info
        assert b"Exif" not in rendition.jpeg and b"SN-123456789" not in rendition.jpeg
        assert b"PhoneMaker" not in rendition.jpeg


def test_renditions_are_320_and_1080_on_the_long_side_and_never_enlarged() -> None:
    result = process_photo(encoded(photo((4000, 3000)), "JPEG"))
    sizes = {r.size: (r.width, r.height) for r in result.renditions}
    assert sizes == {THUMB: (320, 240), LARGE: (1080, 810)}
    small = process_photo(encoded(photo((600, 900)), "PNG"))
    assert {r.size: (r.width, r.height) for r in small.renditions} == {THUMB: (213, 320), LARGE: (600, 900)}
    assert result.sha256 == hashlib.sha256(result.rendition(LARGE).jpeg).hexdigest()


def test_type_comes_from_the_bytes() -> None:
    # PNG and WebP bytes are accepted as what they are, whatever a client says; output is JPEG.
    assert process_photo(encoded(photo(), "PNG")).source_format == "png"
    assert process_photo(encoded(photo(), "WEBP")).source_format == "webp"
    assert process_photo(encoded(photo(), "JPEG")).source_format == "jpeg"


@pytest.mark.parametrize(
    "data, message",
    [
        (b"<html><script>alert(1)</script></html>" * 10, "not a photo"),
        (b"%PDF-1.4\n" + b"0" * 500, "not a photo"),
        (encoded(photo((64, 64)), "GIF"), "not a photo"),
        (encoded(photo((64, 64)), "BMP"), "not a photo"),
        (b"", "empty"),
    ],
    ids=["html", "pdf", "gif", "bmp", "empty"],
)
def test_what_is_not_a_jpeg_png_or_webp_is_refused(data: bytes, message: str) -> None:
    with pytest.raises(BadPhoto, match=message) as refused:
        process_photo(data)
    assert refused.value.code == "bad_photo"


def test_a_truncated_jpeg_is_refused_not_padded_with_grey() -> None:
    data = encoded(photo((1200, 900)), "JPEG", quality=95)
    with pytest.raises(BadPhoto, match="damaged or cut off"):
        process_photo(data[: len(data) // 2])


def test_oversize_bytes_dimensions_and_decompression_bombs_are_refused_before_decoding() -> None:
    with pytest.raises(PhotoTooLarge):
        process_photo(b"\xff\xd8" + b"\x00" * MAX_BYTES)
    for width, height in [(8001, 100), (100, 8001), (7000, 7000)]:
        with pytest.raises(PhotoTooLarge) as refused:
            process_photo(png_bomb(width, height))
        assert refused.value.code == "photo_too_large"
    # 50,000 x 50,000 (7.5 GB of pixels) in a few hundred bytes: refused from the header alone.
    bomb = png_bomb(50_000, 50_000)
    assert len(bomb) < 1000
    with pytest.raises(PhotoTooLarge):
        process_photo(bomb)


def test_the_exif_orientation_is_applied_before_it_is_dropped() -> None:
    exif = Image.Exif()
    exif[ExifTags.Base.Orientation] = 6  # the camera was turned: rotate 90 degrees clockwise to view
    result = process_photo(encoded(photo((1600, 1200)), "JPEG", exif=exif))
    large = result.rendition(LARGE)
    assert (large.width, large.height) == (810, 1080)
    with Image.open(io.BytesIO(large.jpeg)) as out:
        # The white marker in the stored top-left corner is top-right once upright.
        assert min(rgb_at(out, (large.width - 10, 10))) > 240


def test_transparent_png_lands_on_white() -> None:
    image = Image.new("RGBA", (400, 300), (0, 0, 0, 0))
    image.paste((20, 120, 40, 255), (100, 100, 300, 200))
    result = process_photo(encoded(image, "PNG"))
    with Image.open(io.BytesIO(result.rendition(LARGE).jpeg)) as out:
        assert min(rgb_at(out, (10, 10))) > 245
        r, g, _ = rgb_at(out, (200, 150))
        assert g > 100 and r < 60
