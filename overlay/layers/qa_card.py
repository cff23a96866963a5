"""The pinned Q&A card: a viewer's question and the answer, on a dark glass card above the lower third.

It sits left-aligned above the band the lower third can ever reach (two title lines, subtitle and
brand tab), so the two never overlap whatever the lower third says; full safe width in portrait,
under half the width in landscape so the picture stays visible. Question and answer wrap (Chinese
breaks anywhere, other scripts at spaces) and end in "…" when they run out of lines.
"""

from __future__ import annotations

from dataclasses import dataclass

from PIL import Image

from overlay.layer import Layer, Rendered
from overlay.layers.testimonial_ticker import ticker_top
from overlay.shapes import rounded_rect, rounded_rect_mask, solid
from overlay.text import TextFace, face
from overlay.theme import ACCENT, PANEL, TEXT, TEXT_MUTED, Colour, is_portrait, safe_margin, unit

HEADER = "观众问答 Q&A"
QUESTION_MARK = "问"
ANSWER_MARK = "答"
QUESTION_BADGE: Colour = (255, 255, 255, 56)
DIVIDER: Colour = (255, 255, 255, 48)


@dataclass(frozen=True)
class QaCardState:
    question: str = ""
    answer: str = ""
    asker: str = ""  # the asker's nickname, shown before the question


def card_region(frame_size: tuple[int, int]) -> tuple[int, int, int, int]:
    """(x, top, width, bottom): where the card may draw, bottom-aligned to `bottom`."""
    width, _ = frame_size
    u = unit(frame_size)
    margin = safe_margin(frame_size)
    card_w = width - 2 * margin if is_portrait(frame_size) else round(0.45 * width)
    # Below the LIVE badge and the caption pill in the top corners; above the testimonial
    # ticker, which sits on the lower third: the three stack, none covers another.
    top = margin + round(42 * u) + round(16 * u)
    bottom = ticker_top(frame_size) - round(16 * u)
    return margin, top, card_w, bottom


class QaCard(Layer[QaCardState]):
    def render(self, state: QaCardState, frame_size: tuple[int, int]) -> Rendered | None:
        if not state.question.strip() or not state.answer.strip():
            return None
        u = unit(frame_size)
        portrait = is_portrait(frame_size)
        x, top, card_w, bottom = card_region(frame_size)

        q_face = face(round(26 * u))
        a_face = face(round(30 * u), bold=True)
        header_face = face(round(22 * u), bold=True)
        mark_face = face(round(20 * u), bold=True)
        pad_x, pad_top, pad_bottom = round(22 * u), round(18 * u), round(20 * u)
        badge = round(34 * u)
        badge_gap = round(14 * u)
        rule_gap = round(14 * u)
        radius = round(12 * u)
        tab_pad = round(14 * u)
        q_pitch = round(q_face.size * 1.36)
        a_pitch = round(a_face.size * 1.36)

        text_x = pad_x + badge + badge_gap
        text_w = card_w - text_x - pad_x
        asker = " ".join(state.asker.split())
        question = f"{asker}：{state.question}" if asker else state.question
        q_lines = q_face.wrap(question, text_w, 2)
        header = header_face.ellipsize(HEADER, card_w - 2 * tab_pad)
        tab_h = round(header_face.size * 1.7)
        tab_w = header_face.measure(header) + 2 * tab_pad

        def block(lines: list[str], pitch: int, size: int) -> int:
            # The first line is centred on its badge; the rest follow at the line pitch.
            return max(badge, max(0, (badge - size) // 2) + (len(lines) - 1) * pitch + size) if lines else 0

        # As many answer lines as the space above the lower third allows (at least one).
        room = bottom - top - tab_h
        a_lines: list[str] = []
        for max_lines in range(5 if portrait else 4, 0, -1):
            a_lines = a_face.wrap(state.answer, text_w, max_lines)
            used = (pad_top + block(q_lines, q_pitch, q_face.size) + 2 * rule_gap + 1
                    + block(a_lines, a_pitch, a_face.size) + pad_bottom)
            if used <= room:
                break
        if not q_lines or not a_lines:
            return None
        q_block = block(q_lines, q_pitch, q_face.size)
        a_block = block(a_lines, a_pitch, a_face.size)
        panel_h = pad_top + q_block + 2 * rule_gap + 1 + a_block + pad_bottom

        canvas = Image.new("RGBA", (card_w, tab_h + panel_h), (0, 0, 0, 0))
        mask = rounded_rect_mask((card_w, panel_h), radius)
        mask.paste(255, (0, 0, radius, radius))  # square corner where the tab sits
        canvas.alpha_composite(solid((card_w, panel_h), PANEL, mask), (0, tab_h))
        # Drawn taller than needed so only its top corners are round; it sits on the panel.
        tab = rounded_rect((tab_w, tab_h + radius), radius, ACCENT).crop((0, 0, tab_w, tab_h))
        canvas.alpha_composite(tab, (0, 0))
        header_face.draw(canvas, (tab_pad, (tab_h - header_face.size) // 2 - header_face.em_top), header, TEXT)

        y = tab_h + pad_top
        self._mark(canvas, mark_face, QUESTION_MARK, QUESTION_BADGE, (pad_x, y), badge)
        self._lines(canvas, q_face, q_lines, q_pitch, (text_x, y), badge, TEXT_MUTED)
        y += q_block + rule_gap
        canvas.alpha_composite(solid((card_w - 2 * pad_x, 1), DIVIDER), (pad_x, y))
        y += 1 + rule_gap
        self._mark(canvas, mark_face, ANSWER_MARK, ACCENT, (pad_x, y), badge)
        self._lines(canvas, a_face, a_lines, a_pitch, (text_x, y), badge, TEXT)
        return Rendered(canvas, x, bottom - canvas.height)

    @staticmethod
    def _mark(
        canvas: Image.Image, mark_face: TextFace, text: str, colour: Colour, xy: tuple[int, int], size: int
    ) -> None:
        canvas.alpha_composite(rounded_rect((size, size), size * 0.28, colour), xy)
        w = mark_face.measure(text)
        mark_face.draw(
            canvas, (xy[0] + (size - w) // 2, xy[1] + (size - mark_face.size) // 2 - mark_face.em_top), text, TEXT
        )

    @staticmethod
    def _lines(
        canvas: Image.Image, text_face: TextFace, lines: list[str], pitch: int, xy: tuple[int, int],
        badge: int, fill: Colour,
    ) -> None:
        first = xy[1] + max(0, (badge - text_face.size) // 2)
        for i, line in enumerate(lines):
            text_face.draw(canvas, (xy[0], first + i * pitch - text_face.em_top), line, fill)
