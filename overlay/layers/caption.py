"""A small caption pill in the top-right corner: labels such as "模拟画面 · Simulated"."""

from __future__ import annotations

from dataclasses import dataclass

from overlay.layer import Layer, Rendered
from overlay.shapes import rounded_rect_mask, solid
from overlay.text import face
from overlay.theme import PANEL, TEXT, safe_margin, unit


@dataclass(frozen=True)
class CaptionState:
    text: str


class Caption(Layer[CaptionState]):
    def render(self, state: CaptionState, frame_size: tuple[int, int]) -> Rendered | None:
        if not state.text.strip():
            return None
        u = unit(frame_size)
        margin = safe_margin(frame_size)
        text_face = face(round(20 * u))
        height = round(38 * u)
        pad = round(14 * u)
        # Never wider than half the frame: long captions are ellipsised, not clipped.
        max_text = frame_size[0] // 2 - 2 * pad
        text = text_face.ellipsize(state.text, max_text)
        width = pad + text_face.measure(text) + pad
        pill = solid((width, height), PANEL, rounded_rect_mask((width, height), height / 2))
        text_face.draw(pill, (pad, (height - text_face.size) // 2 - text_face.em_top), text, TEXT)
        return Rendered(pill, frame_size[0] - margin - width, margin)
