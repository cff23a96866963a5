"""The lower third: brand tab, product title and a subtitle on a dark glass panel with an accent bar."""

from __future__ import annotations

from dataclasses import dataclass

from PIL import Image

from overlay.layer import Layer, Rendered
from overlay.shapes import rounded_rect, rounded_rect_mask, solid
from overlay.text import face
from overlay.theme import ACCENT, PANEL, TEXT, TEXT_MUTED, is_portrait, safe_margin, unit


@dataclass(frozen=True)
class LowerThirdState:
    brand: str
    title: str
    subtitle: str = ""


def lower_third_top(frame_size: tuple[int, int]) -> int:
    """The highest the lower third can reach: its layout with every line it may use.

    Mirrors the layout below (sizes, paddings, the portrait player band), for the layers that
    stack above the lower third; the overlay tests render the fullest lower third and check it
    starts exactly on this line.
    """
    height = frame_size[1]
    u = unit(frame_size)
    margin = safe_margin(frame_size)
    portrait = is_portrait(frame_size)
    title, subtitle, brand = round(42 * u), round(27 * u), round(24 * u)
    subtitle_lines = 2 if portrait else 1
    panel = (
        round(18 * u)
        + round(title * 1.3) + title
        + round(12 * u)
        + (subtitle_lines - 1) * round(subtitle * 1.36) + subtitle
        + round(20 * u)
    )
    tab = round(brand * 1.7)
    reserve = round(0.16 * height) if portrait else 0
    return height - margin - reserve - panel - tab


class LowerThird(Layer[LowerThirdState]):
    """Bottom-left in landscape; in portrait full safe width, lifted clear of the players' chat."""

    def render(self, state: LowerThirdState, frame_size: tuple[int, int]) -> Rendered | None:
        width, height = frame_size
        u = unit(frame_size)
        margin = safe_margin(frame_size)
        portrait = is_portrait(frame_size)

        title_face = face(round(42 * u), bold=True)
        subtitle_face = face(round(27 * u))
        brand_face = face(round(24 * u), bold=True)
        bar = max(2, round(8 * u))
        pad_left, pad_right = bar + round(22 * u), round(26 * u)
        pad_top, pad_bottom = round(18 * u), round(20 * u)
        gap = round(12 * u)
        tab_pad = round(14 * u)
        radius = round(10 * u)

        max_width = width - 2 * margin if portrait else round(0.6 * width)
        text_width = max_width - pad_left - pad_right
        title = title_face.wrap(state.title, text_width, 2)
        subtitle = subtitle_face.wrap(state.subtitle, text_width, 2 if portrait else 1)
        brand = brand_face.wrap(state.brand, max_width - 2 * tab_pad, 1)
        if not (title or subtitle or brand):
            return None

        title_pitch = round(title_face.size * 1.3)
        subtitle_pitch = round(subtitle_face.size * 1.36)
        blocks = []  # (face, lines, pitch)
        if title:
            blocks.append((title_face, title, title_pitch))
        if subtitle:
            blocks.append((subtitle_face, subtitle, subtitle_pitch))
        content = max((f.measure(line) for f, lines, _ in blocks for line in lines), default=0)
        if portrait:
            panel_w = max_width
        else:
            panel_w = min(max_width, max(round(0.34 * width), content + pad_left + pad_right))
        # Visual height of a block: the em boxes of its lines, `pitch` apart.
        block_heights = [(len(lines) - 1) * pitch + f.size for f, lines, pitch in blocks]
        panel_h = pad_top + sum(block_heights) + gap * max(0, len(blocks) - 1) + pad_bottom
        if not blocks:
            panel_h = 0

        tab_h = round(brand_face.size * 1.7) if brand else 0
        tab_w = brand_face.measure(brand[0]) + 2 * tab_pad if brand else 0
        canvas = Image.new("RGBA", (max(panel_w, tab_w), tab_h + panel_h), (0, 0, 0, 0))

        if panel_h:
            mask = rounded_rect_mask((panel_w, panel_h), radius)
            if brand:
                mask.paste(255, (0, 0, radius, radius))  # square corner where the tab sits
            canvas.alpha_composite(solid((panel_w, panel_h), PANEL, mask), (0, tab_h))
            bar_mask = mask.crop((0, 0, bar, panel_h))
            canvas.alpha_composite(solid((bar, panel_h), ACCENT, bar_mask), (0, tab_h))
            y = tab_h + pad_top
            for (f, lines, pitch), block_h in zip(blocks, block_heights):
                fill = TEXT if f is title_face else TEXT_MUTED
                for i, line in enumerate(lines):
                    f.draw(canvas, (pad_left, y + i * pitch - f.em_top), line, fill)
                y += block_h + gap
        if brand:
            # Drawn taller than needed so only its top corners are round; it sits on the panel.
            tab = rounded_rect((tab_w, tab_h + radius), radius, ACCENT).crop((0, 0, tab_w, tab_h))
            canvas.alpha_composite(tab, (0, 0))
            top = (tab_h - brand_face.size) // 2 - brand_face.em_top
            brand_face.draw(canvas, (tab_pad, top), brand[0], TEXT)

        # Portrait players lay chat and the buy button over the bottom of the picture, so the
        # lower third sits above that band; landscape players keep the picture clear.
        reserve = round(0.16 * height) if portrait else 0
        x = margin
        y = height - margin - reserve - canvas.height
        return Rendered(canvas, x, y)
