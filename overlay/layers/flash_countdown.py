"""The flash-claim pill: "限量尝鲜 ¥1" and the countdown (to the start, then the end), then the
product and the units left."""

from __future__ import annotations

from dataclasses import dataclass

from PIL import Image

from overlay.layer import Layer, Rendered
from overlay.layers.shop_layout import countdown_box, yuan
from overlay.shapes import rounded_rect
from overlay.text import face
from overlay.theme import LIVE_RED, PANEL, TEXT, TEXT_MUTED, Colour, unit

GOLD: Colour = (255, 214, 102, 255)


@dataclass(frozen=True)
class FlashCountdownState:
    product: str = ""
    price_fen: int = 0
    remaining: int = 0
    quantity: int = 0
    phase: str = "hidden"  # upcoming | live | sold_out | hidden
    seconds: int = 0  # to the start (upcoming) or to the end (live)


def clock(seconds: int) -> str:
    seconds = max(0, int(seconds))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes:02d}:{secs:02d}"


class FlashCountdown(Layer[FlashCountdownState]):
    def texts(self, state: FlashCountdownState, frame_size: tuple[int, int]) -> tuple[str, str, str, int]:
        """The texts as drawn, and the countdown's font size: the offer ("限量尝鲜 ¥1", never cut
        for the product's name; the countdown beside it gets smaller first), the countdown, and
        below them the product with the units."""
        u = unit(frame_size)
        inner = countdown_box(frame_size).width - 2 * round(14 * u)
        title_face, body_face = face(round(22 * u), bold=True), face(round(20 * u))
        if state.phase == "upcoming":
            when, zh, en = f"{clock(state.seconds)} 后开抢", f"共 {state.quantity} 份", f"{state.quantity} packs"
        elif state.phase == "sold_out":
            when, zh, en = "已抢光", "", "Sold out"
        else:
            when, zh, en = clock(state.seconds), f"剩 {state.remaining}/{state.quantity}", f"{state.remaining} left"
        offer = f"限量尝鲜 {yuan(state.price_fen)}"
        for size in (26, 22, 18):
            time_size = round(size * u)
            room = inner - face(time_size, bold=True).measure(when) - round(10 * u)
            if title_face.measure(offer) <= room:
                break
        title = title_face.ellipsize(offer, room)
        # Below: the product and the units, the English too where it fits; the name gives way first.
        units = " · ".join(t for t in (zh, en) if t)
        if zh and body_face.measure(f"{state.product} · {units}") > inner:
            units = zh
        if not state.product:
            return title, when, body_face.ellipsize(units, inner), time_size
        name = body_face.ellipsize(state.product, max(inner - body_face.measure(f" · {units}"), inner // 3))
        return title, when, body_face.ellipsize(f"{name} · {units}", inner), time_size

    def render(self, state: FlashCountdownState, frame_size: tuple[int, int]) -> Rendered | None:
        if state.phase == "hidden":
            return None
        u = unit(frame_size)
        box = countdown_box(frame_size)
        pad = round(14 * u)
        title_face = face(round(22 * u), bold=True)
        body_face = face(round(20 * u))
        title, when, status, time_size = self.texts(state, frame_size)
        time_face = face(time_size, bold=True)
        line = face(round(26 * u), bold=True).size  # the first line keeps its height
        when_w = time_face.measure(when)
        height = min(box.max_height, 2 * pad + line + round(8 * u) + body_face.size)
        canvas = Image.new("RGBA", (box.width, height), (0, 0, 0, 0))
        canvas.alpha_composite(rounded_rect((box.width, height), round(14 * u), PANEL))
        stripe = rounded_rect((round(8 * u), height), round(4 * u), LIVE_RED)
        canvas.alpha_composite(stripe, (0, 0))
        title_face.draw(canvas, (pad, pad + (line - title_face.size) // 2 - title_face.em_top), title, TEXT)
        time_face.draw(canvas, (box.width - pad - when_w, pad + (line - time_face.size) // 2 - time_face.em_top), when, GOLD)
        body_face.draw(canvas, (pad, pad + line + round(8 * u) - body_face.em_top), status, TEXT_MUTED)
        return Rendered(canvas, box.x, box.y)
