"""The flash-claim pill: "限量尝鲜 ¥1", units left and the countdown (to the start, then the end)."""

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
    def render(self, state: FlashCountdownState, frame_size: tuple[int, int]) -> Rendered | None:
        if state.phase == "hidden":
            return None
        u = unit(frame_size)
        box = countdown_box(frame_size)
        pad = round(14 * u)
        title_face = face(round(22 * u), bold=True)
        body_face = face(round(20 * u))
        time_face = face(round(26 * u), bold=True)
        title = f"限量尝鲜 {yuan(state.price_fen)}"
        if state.phase == "upcoming":
            when, status = f"{clock(state.seconds)} 后开抢", f"共 {state.quantity} 份 · {state.quantity} packs"
        elif state.phase == "sold_out":
            when, status = "已抢光", "Sold out"
        else:
            when, status = clock(state.seconds), f"剩 {state.remaining}/{state.quantity} · {state.remaining} left"
        inner = box.width - 2 * pad
        when_w = time_face.measure(when)
        title = title_face.ellipsize(title if not state.product else f"{title} {state.product}", inner - when_w - round(10 * u))
        status = body_face.ellipsize(status, inner)
        height = min(box.max_height, 2 * pad + time_face.size + round(8 * u) + body_face.size)
        canvas = Image.new("RGBA", (box.width, height), (0, 0, 0, 0))
        canvas.alpha_composite(rounded_rect((box.width, height), round(14 * u), PANEL))
        stripe = rounded_rect((round(8 * u), height), round(4 * u), LIVE_RED)
        canvas.alpha_composite(stripe, (0, 0))
        top = pad + (time_face.size - title_face.size) // 2
        title_face.draw(canvas, (pad, top - title_face.em_top), title, TEXT)
        time_face.draw(canvas, (box.width - pad - when_w, pad - time_face.em_top), when, GOLD)
        body_face.draw(canvas, (pad, pad + time_face.size + round(8 * u) - body_face.em_top), status, TEXT_MUTED)
        return Rendered(canvas, box.x, box.y)
