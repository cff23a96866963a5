"""Antialiased panel shapes; Pillow draws hard-edged shapes, so these are drawn 4x and reduced."""

from __future__ import annotations

import math

import numpy as np
from PIL import Image, ImageChops, ImageDraw

from overlay.theme import Colour

_SUPERSAMPLE = 4


def rounded_rect_mask(size: tuple[int, int], radius: float) -> Image.Image:
    """An "L" mask of a rectangle with rounded corners filling `size`.

    Corners get analytic coverage (distance to the arc), which is exact enough for 8-bit alpha
    and far cheaper than supersampling a whole panel.
    """
    width, height = size
    mask = np.full((height, width), 255, dtype=np.uint8)
    r = max(0.0, min(float(radius), width / 2, height / 2))
    n = math.ceil(r)
    if n:
        centres = np.arange(n, dtype=np.float32) + 0.5
        dx = np.maximum(r - centres, 0.0)[None, :]
        dy = np.maximum(r - centres, 0.0)[:, None]
        coverage = np.clip(r - np.sqrt(dx * dx + dy * dy) + 0.5, 0.0, 1.0)
        corner = np.rint(coverage * 255).astype(np.uint8)
        for flip_y, flip_x in ((False, False), (False, True), (True, False), (True, True)):
            piece = corner[::-1] if flip_y else corner
            piece = piece[:, ::-1] if flip_x else piece
            rows = slice(height - n, height) if flip_y else slice(0, n)
            cols = slice(width - n, width) if flip_x else slice(0, n)
            np.minimum(mask[rows, cols], piece, out=mask[rows, cols])
    return Image.fromarray(mask, mode="L")


def solid(size: tuple[int, int], colour: Colour, mask: Image.Image | None = None) -> Image.Image:
    """An RGBA image of one colour, shaped by `mask` (its alpha scaled by the colour's alpha)."""
    r, g, b, a = colour
    image = Image.new("RGBA", size, (r, g, b, 0))
    if mask is None:
        alpha = Image.new("L", size, a)
    elif a == 255:
        alpha = mask
    else:
        alpha = mask.point([m * a // 255 for m in range(256)])
    image.putalpha(alpha)
    return image


def rounded_rect(size: tuple[int, int], radius: float, colour: Colour) -> Image.Image:
    return solid(size, colour, rounded_rect_mask(size, radius))


def eye_icon(width: int, colour: Colour) -> Image.Image:
    """A stylised eye (viewer count): an almond outline with a round pupil, `width` wide."""
    height = max(2, round(width * 0.66))
    s = _SUPERSAMPLE
    size = (width * s, height * s)
    stroke = max(s, round(size[0] * 0.09))
    outline = ImageChops.subtract(_almond(size, 0), _almond(size, stroke))
    pupil = Image.new("L", size, 0)
    r = size[1] * 0.22
    cx, cy = size[0] / 2, size[1] / 2
    ImageDraw.Draw(pupil).ellipse((cx - r, cy - r, cx + r, cy + r), fill=255)
    mask = ImageChops.lighter(outline, pupil)
    return solid((width, height), colour, mask.resize((width, height), Image.Resampling.BOX))


def _almond(size: tuple[int, int], inset: int) -> Image.Image:
    """The lens where two circles overlap, spanning `size` less `inset` on every side."""
    w, h = size
    half_w = w / 2 - inset
    half_h = h / 2 - inset
    lens = Image.new("L", size, 0)
    if half_w <= 0 or half_h <= 0:
        return lens
    # The circle through both corners of the eye and the top (bottom) of the lid.
    radius = (half_w**2 + half_h**2) / (2 * half_h)
    cx, cy = w / 2, h / 2
    upper_lid = Image.new("L", size, 0)
    ImageDraw.Draw(upper_lid).ellipse(
        (cx - radius, cy - half_h, cx + radius, cy - half_h + 2 * radius), fill=255
    )
    lower_lid = Image.new("L", size, 0)
    ImageDraw.Draw(lower_lid).ellipse(
        (cx - radius, cy + half_h - 2 * radius, cx + radius, cy + half_h), fill=255
    )
    return ImageChops.multiply(upper_lid, lower_lid)
