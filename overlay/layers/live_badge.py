"""The LIVE badge: a red "直播 LIVE" pill joined to a dark segment with an eye and the viewer count."""

from __future__ import annotations

from dataclasses import dataclass

from overlay.layer import Layer, Rendered
from overlay.shapes import eye_icon, rounded_rect_mask, solid
from overlay.text import face
from overlay.theme import LIVE_RED, PANEL, TEXT, safe_margin, unit

LIVE_LABEL = "直播 LIVE"


@dataclass(frozen=True)
class LiveBadgeState:
    live: bool
    viewers: int


def format_viewers(count: int) -> str:
    """Chinese-style count: 9999, 1.2万, 3.4亿 (rounded down: never claims viewers it does not have)."""
    count = max(0, int(count))
    for unit_value, suffix in ((100_000_000, "亿"), (10_000, "万")):
        if count >= unit_value:
            tenths = count // (unit_value // 10)
            whole, fraction = divmod(tenths, 10)
            return f"{whole}.{fraction}{suffix}" if fraction else f"{whole}{suffix}"
    return str(count)


class LiveBadge(Layer[LiveBadgeState]):
    """Top-left inside the safe margin; draws nothing while the room is not live."""

    def render(self, state: LiveBadgeState, frame_size: tuple[int, int]) -> Rendered | None:
        if not state.live:
            return None
        u = unit(frame_size)
        margin = safe_margin(frame_size)
        label_face = face(round(22 * u), bold=True)
        height = round(42 * u)
        pad = round(16 * u)
        gap = round(8 * u)
        eye = eye_icon(round(24 * u), TEXT)
        count = format_viewers(state.viewers)

        live_w = pad + label_face.measure(LIVE_LABEL) + pad
        count_w = round(12 * u) + eye.width + gap + label_face.measure(count) + pad
        width = live_w + count_w
        mask = rounded_rect_mask((width, height), height / 2)
        badge = solid((width, height), PANEL, mask)
        red = solid((live_w, height), LIVE_RED, mask.crop((0, 0, live_w, height)))
        badge.alpha_composite(red, (0, 0))

        text_top = (height - label_face.size) // 2 - label_face.em_top
        label_face.draw(badge, (pad, text_top), LIVE_LABEL, TEXT)
        x = live_w + round(12 * u)
        badge.alpha_composite(eye, (x, (height - eye.height) // 2))
        label_face.draw(badge, (x + eye.width + gap, text_top), count, TEXT)
        return Rendered(badge, margin, margin)
