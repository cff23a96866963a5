"""QR labels for a batch's GS1 Digital Link: PNG for screens and the stream, SVG for printing."""

from __future__ import annotations

import io

import qrcode
import qrcode.image.svg
from PIL import Image

# Quartile error correction: a label survives a smudge or a crease on a crate.
_EC = qrcode.constants.ERROR_CORRECT_Q


def _code(url: str, border: int, box_size: int = 1) -> qrcode.QRCode:
    code = qrcode.QRCode(error_correction=_EC, border=border, box_size=box_size)
    code.add_data(url)
    code.make(fit=True)
    return code


def qr_matrix(url: str, border: int = 4) -> list[list[bool]]:
    return [list(row) for row in _code(url, border).get_matrix()]


def qr_image(url: str, size: int, border: int = 4) -> Image.Image:
    """A black-on-white QR code scaled to about `size` pixels with whole modules (crisp edges)."""
    matrix = qr_matrix(url, border)
    n = len(matrix)
    module = max(1, size // n)
    image = Image.new("L", (n, n), 255)
    image.putdata([0 if cell else 255 for row in matrix for cell in row])
    return image.resize((n * module, n * module), Image.Resampling.NEAREST)


def qr_png(url: str, size: int = 512) -> bytes:
    out = io.BytesIO()
    qr_image(url, size).save(out, "PNG", optimize=True)
    return out.getvalue()


def qr_svg(url: str) -> bytes:
    """An SVG path (one element, scales to any print size; 1 mm modules by default)."""
    image = _code(url, 4, box_size=10).make_image(image_factory=qrcode.image.svg.SvgPathImage)
    out = io.BytesIO()
    image.save(out)
    return out.getvalue()
