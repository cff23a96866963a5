"""Group-buy progress on the stream: the top communities, each with a bar towards its next tier
and the line neighbours read ("已有32位邻居下单 再差8位成团")."""

from __future__ import annotations

from dataclasses import dataclass

from PIL import Image

from overlay.layer import Layer, Rendered
from overlay.layers.shop_layout import bars_box
from overlay.shapes import rounded_rect
from overlay.text import face
from overlay.theme import ACCENT, PANEL, TEXT, TEXT_MUTED, Colour, unit

HEADER = "邻里拼团 Group-buy"
TRACK: Colour = (255, 255, 255, 48)
DONE: Colour = (255, 214, 102, 255)


@dataclass(frozen=True)
class GroupBuyBar:
    community: str
    buyers: int
    target: int  # buyers of the next tier (or of the top tier once reached)
    line: str  # "再差8位成团" / "已成团 每件减¥10"
    unlocked: bool


@dataclass(frozen=True)
class GroupBuyBarsState:
    product: str = ""
    bars: tuple[GroupBuyBar, ...] = ()


class GroupBuyBars(Layer[GroupBuyBarsState]):
    def render(self, state: GroupBuyBarsState, frame_size: tuple[int, int]) -> Rendered | None:
        if not state.bars:
            return None
        u = unit(frame_size)
        box = bars_box(frame_size)
        pad = round(16 * u)
        header_face = face(round(20 * u), bold=True)
        name_face = face(round(22 * u), bold=True)
        line_face = face(round(18 * u))
        bar_h = max(4, round(10 * u))
        inner = box.width - 2 * pad
        header = header_face.ellipsize(f"{HEADER} · {state.product}" if state.product else HEADER, inner)
        row_h = name_face.size + round(8 * u) + bar_h + round(6 * u) + line_face.size + round(14 * u)
        header_h = header_face.size + round(12 * u)
        rows = max(0, min(len(state.bars), (box.max_height - 2 * pad - header_h) // row_h))
        if rows == 0:
            return None
        panel_h = 2 * pad + header_h + rows * row_h - round(14 * u)
        canvas = Image.new("RGBA", (box.width, panel_h), (0, 0, 0, 0))
        canvas.alpha_composite(rounded_rect((box.width, panel_h), round(14 * u), PANEL))
        header_face.draw(canvas, (pad, pad - header_face.em_top), header, ACCENT)
        y = pad + header_h
        for bar in state.bars[:rows]:
            count = f"{bar.buyers}/{bar.target}" if bar.target else str(bar.buyers)
            count_w = name_face.measure(count)
            name = name_face.ellipsize(bar.community, inner - count_w - round(10 * u))
            name_face.draw(canvas, (pad, y - name_face.em_top), name, TEXT)
            name_face.draw(canvas, (pad + inner - count_w, y - name_face.em_top), count, DONE if bar.unlocked else TEXT)
            y += name_face.size + round(8 * u)
            canvas.alpha_composite(rounded_rect((inner, bar_h), bar_h / 2, TRACK), (pad, y))
            fraction = min(1.0, bar.buyers / bar.target) if bar.target else 1.0
            filled = round(inner * fraction)
            if filled >= bar_h:
                canvas.alpha_composite(rounded_rect((filled, bar_h), bar_h / 2, DONE if bar.unlocked else ACCENT), (pad, y))
            y += bar_h + round(6 * u)
            line_face.draw(canvas, (pad, y - line_face.em_top), line_face.ellipsize(bar.line, inner), TEXT_MUTED)
            y += line_face.size + round(14 * u)
        return Rendered(canvas, box.x, box.y)
