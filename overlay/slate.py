"""The stand-by slate shown while the host is away, so the room's output keeps its clock."""

from __future__ import annotations

import numpy as np
from PIL import Image

from overlay.text import face
from overlay.theme import ACCENT, SLATE_BOTTOM, SLATE_TOP, TEXT, TEXT_MUTED, safe_margin, unit
from overlay.yuv import rgb_to_yuv420


def render_slate(
    width: int,
    height: int,
    title: str,
    line_zh: str = "主播马上回来",
    line_en: str = "Be right back",
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A full-frame picture as contiguous uint8 Y, U, V (4:2:0) planes."""
    if width <= 0 or height <= 0 or width % 2 or height % 2:
        raise ValueError(f"4:2:0 frames need positive even dimensions, got {width}x{height}")
    size = (width, height)
    u = unit(size)
    margin = safe_margin(size)
    text_width = width - 4 * margin

    # A vertical gradient reads as "designed" and hides banding better than a flat colour.
    ramp = np.linspace(0.0, 1.0, height, dtype=np.float32)[:, None, None]
    top = np.array(SLATE_TOP, dtype=np.float32)
    bottom = np.array(SLATE_BOTTOM, dtype=np.float32)
    rows = np.rint(top + (bottom - top) * ramp).astype(np.uint8)
    canvas = Image.fromarray(np.ascontiguousarray(np.broadcast_to(rows, (height, width, 3))))
    canvas = canvas.convert("RGBA")

    title_face = face(round(34 * u), bold=True)
    zh_face = face(round(64 * u), bold=True)
    en_face = face(round(30 * u))
    rule_h = max(2, round(5 * u))
    rule_w = round(72 * u)
    blocks = [
        (title_face, title_face.wrap(title, text_width, 2), round(title_face.size * 1.3), ACCENT),
        (zh_face, zh_face.wrap(line_zh, text_width, 2), round(zh_face.size * 1.25), TEXT),
        (en_face, en_face.wrap(line_en, text_width, 2), round(en_face.size * 1.3), TEXT_MUTED),
    ]
    gaps = [round(40 * u), round(22 * u)]
    heights = [(len(lines) - 1) * pitch + f.size if lines else 0 for f, lines, pitch, _ in blocks]
    total = sum(heights) + sum(gaps) + rule_h + round(30 * u)
    y = (height - total) // 2
    for index, ((f, lines, pitch, colour), block_h) in enumerate(zip(blocks, heights)):
        for i, line in enumerate(lines):
            x = (width - f.measure(line)) // 2
            f.draw(canvas, (x, y + i * pitch - f.em_top), line, colour)
        y += block_h
        if index == 0:
            y += round(30 * u)
            rule = Image.new("RGBA", (rule_w, rule_h), ACCENT)
            canvas.alpha_composite(rule, ((width - rule_w) // 2, y))
            y += rule_h + gaps[0]
        elif index == 1:
            y += gaps[1]
    rgb = np.asarray(canvas.convert("RGB"))
    return rgb_to_yuv420(rgb)
