"""The batch QR code on the stream: a white card with the code and a caption; scanning it opens
the batch's trace page. The module matrix comes in the state (the server encodes the URL), so the
overlay package needs no QR library and renders only when the batch changes."""

from __future__ import annotations

from dataclasses import dataclass

from PIL import Image

from overlay.layer import Layer, Rendered
from overlay.shapes import rounded_rect_mask, solid
from overlay.text import face
from overlay.theme import is_portrait, safe_margin, unit

CARD: tuple[int, int, int, int] = (255, 255, 255, 245)
INK: tuple[int, int, int, int] = (16, 20, 18, 255)


@dataclass(frozen=True)
class QrCodeState:
    modules: tuple[tuple[bool, ...], ...] = ()  # dark modules, quiet zone included
    caption: str = "扫码看溯源"
    detail: str = ""  # e.g. the lot


class QrCode(Layer[QrCodeState]):
    """Right side: above the lower third in portrait, bottom-right in landscape."""

    # Turned on and off by the host over whatever else is showing: it moves out of the way.
    flow = True

    def render(self, state: QrCodeState, frame_size: tuple[int, int]) -> Rendered | None:
        n = len(state.modules)
        if n == 0:
            return None
        width, height = frame_size
        u = unit(frame_size)
        margin = safe_margin(frame_size)
        target = round(200 * u)  # big enough for a phone across the room to scan off a screen
        module = max(2, target // n)
        code_px = module * n
        caption_face = face(round(22 * u), bold=True)
        detail_face = face(round(17 * u))
        pad = round(8 * u)
        caption = caption_face.ellipsize(state.caption, code_px)
        detail = detail_face.ellipsize(state.detail, code_px) if state.detail else ""
        text_h = caption_face.size + (round(4 * u) + detail_face.size if detail else 0)
        card_w = code_px + 2 * pad
        card_h = pad + code_px + text_h + 2 * pad
        card = solid((card_w, card_h), CARD, rounded_rect_mask((card_w, card_h), round(12 * u)))
        code = Image.new("L", (n, n), 255)
        code.putdata([0 if dark else 255 for row in state.modules for dark in row])
        code = code.resize((code_px, code_px), Image.Resampling.NEAREST).convert("RGBA")
        card.alpha_composite(code, (pad, pad))
        y = pad + code_px + pad
        caption_face.draw(card, ((card_w - caption_face.measure(caption)) // 2, y - caption_face.em_top), caption, INK)
        if detail:
            y += caption_face.size + round(4 * u)
            detail_face.draw(card, ((card_w - detail_face.measure(detail)) // 2, y - detail_face.em_top), detail, INK)
        x = width - margin - card_w
        if is_portrait(frame_size):
            y0 = round(0.42 * height)
        else:
            y0 = height - margin - card_h
        return Rendered(card, x, max(margin, min(y0, height - margin - card_h)))
