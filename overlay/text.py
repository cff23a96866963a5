"""Text for broadcast graphics: CJK-first fonts with fallbacks and colour emoji, measured, wrapped, ellipsised.

Everything a viewer types can reach an overlay, so text is cleaned first (controls, bidi overrides
and stacked combining marks removed, length capped) and every line is measured with the same layout
that draws it: a wrapped or ellipsised line never exceeds the width it was fitted to.
"""

from __future__ import annotations

import logging
import math
import threading
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

from overlay.fonts import emoji_font_path, fallback_font_paths, font_path
from overlay.fonts.cmap import Coverage, coverage

logger = logging.getLogger(__name__)

ELLIPSIS = "…"
MAX_CHARS = 400  # more than any overlay shows; caps the work hostile input can cause
_MAX_MARKS = 2  # combining marks kept per base character ("zalgo" text would overflow the line)
_EMOJI_STRIKE = 109  # Noto Color Emoji's bitmaps exist at this size only
_EMOJI_BOX = 128  # the strike's ascent + descent in pixels
# Ideographs sit in an em box from 0.12 em below the baseline to 0.88 above; emoji are drawn one
# em tall, centred on that box, so they line up with the Chinese around them.
_EMOJI_TOP_EM = 0.88

_LAYOUT = ImageFont.Layout.RAQM if ImageFont.core.HAVE_RAQM else ImageFont.Layout.BASIC

# Line-breaking classes (a small part of UAX #14, enough for Chinese, Japanese and Latin).
_NO_LINE_START = set("，。、！？；：）》」』】〉〕〗”’…‥—～％·・ー々〜,.!?;:)]}>%»")
_NO_LINE_END = set("（《「『【〈〔〖“‘([{<«")
# Emoji that are drawn as emoji even without U+FE0F (Emoji_Presentation=Yes in the BMP).
_EMOJI_PRESENTATION_BMP = set(
    "⌚⌛⏩⏪⏫⏬⏰⏳◽◾☔☕♈♉♊♋♌♍♎♏♐♑♒♓♿⚓⚡⚪⚫⚽⚾⛄⛅⛎⛔⛪⛲⛳⛵⛺⛽✅✊✋✨❌❎❓❔❕❗➕➖➗➰➿⬛⬜⭐⭕"
)
# Punctuation and spaces that take the paragraph's direction when they end a run (see bidi).
_NEUTRAL_END = " …‥.,;:!?-—–·・，。、！？；：\"'“”‘’()（）"
# Dropped before an ellipsis: "坏果包赔，…" reads worse than "坏果包赔…".
_BEFORE_ELLIPSIS = " ，。、；：,.;:·・—–-"
_KEEP_FORMAT = {0x200C, 0x200D}  # ZWNJ/ZWJ shape scripts and join emoji; other Cf are dropped
_SPACES = {"\t", "\n", "\r", "\v", "\f", "\x85", "\u2028", "\u2029"}


def clean(text: str) -> str:
    """Make untrusted text safe to lay out: one line, no controls or bidi overrides, bounded length."""
    text = unicodedata.normalize("NFC", str(text))
    out: list[str] = []
    marks = 0
    for ch in text[: MAX_CHARS * 4]:
        cp = ord(ch)
        category = unicodedata.category(ch)
        if ch in _SPACES or category == "Zs":
            ch, category = " ", "Zs"
        elif category in ("Cc", "Cs", "Co"):
            continue
        elif category == "Cf" and cp not in _KEEP_FORMAT and not 0xE0020 <= cp <= 0xE007F:
            continue  # includes U+202E RIGHT-TO-LEFT OVERRIDE and friends
        if category in ("Mn", "Me") and not _is_variation_selector(cp):
            marks += 1
            if marks > _MAX_MARKS:
                continue
        else:
            marks = 0
        if ch == " " and (not out or out[-1] == " "):
            continue
        out.append(ch)
        if len(out) >= MAX_CHARS:
            break
    return "".join(out).strip()


def graphemes(text: str) -> list[str]:
    """Split into user-perceived characters: base + marks, emoji ZWJ sequences, flag pairs."""
    out: list[str] = []
    for ch in text:
        cp = ord(ch)
        if out and (_extends(ch) or out[-1].endswith("\u200d") or _pairs_flag(out[-1], cp)):
            out[-1] += ch
        else:
            out.append(ch)
    return out


def _is_variation_selector(cp: int) -> bool:
    return 0xFE00 <= cp <= 0xFE0F or 0xE0100 <= cp <= 0xE01EF


def _is_mark(ch: str) -> bool:
    return unicodedata.category(ch) in ("Mn", "Me", "Mc") and not _is_variation_selector(ord(ch))


def _extends(ch: str) -> bool:
    cp = ord(ch)
    return (
        unicodedata.category(ch) in ("Mn", "Me", "Mc")
        or cp == 0x200D
        or _is_variation_selector(cp)
        or 0x1F3FB <= cp <= 0x1F3FF  # skin tones
        or 0xE0020 <= cp <= 0xE007F  # tag sequences (subdivision flags)
    )


def _is_regional(cp: int) -> bool:
    return 0x1F1E6 <= cp <= 0x1F1FF


def _pairs_flag(previous: str, cp: int) -> bool:
    return _is_regional(cp) and len(previous) == 1 and _is_regional(ord(previous))


def _is_emoji(g: str) -> bool:
    cp = ord(g[0])
    return (
        cp >= 0x1F000
        or "\ufe0f" in g
        or "\u200d" in g
        or g[0] in _EMOJI_PRESENTATION_BMP
        or (len(g) > 1 and "\u20e3" in g)  # keycaps
    )


def _breaks_anywhere(g: str) -> bool:
    """CJK and emoji allow a line break on either side (no spaces between words)."""
    cp = ord(g[0])
    return (
        0x2E80 <= cp <= 0x9FFF
        or 0xAC00 <= cp <= 0xD7AF
        or 0xF900 <= cp <= 0xFAFF
        or 0xFE30 <= cp <= 0xFE4F
        or 0xFF00 <= cp <= 0xFFEF
        or 0x20000 <= cp <= 0x3FFFF
        or _is_emoji(g)
    )


def _direction(text: str) -> str:
    """'R' or 'L' from the first strong character, 'N' if there is none."""
    for ch in text:
        bidi = unicodedata.bidirectional(ch)
        if bidi in ("R", "AL"):
            return "R"
        if bidi == "L":
            return "L"
    return "N"


@dataclass(frozen=True, slots=True)
class _FontSlot:
    font: ImageFont.FreeTypeFont
    covers: Coverage
    emoji: bool = False


@dataclass(frozen=True, slots=True)
class _Placed:
    slot: _FontSlot
    text: str
    x: float  # pen position relative to the line's origin


@dataclass(frozen=True, slots=True)
class _Line:
    runs: tuple[_Placed, ...]
    width: int  # ink-safe: covers advances and any glyph overhang
    origin: float  # where the pen starts, > 0 when the first glyph overhangs to the left


class TextFace:
    """One size and weight of the overlay type: Noto Sans CJK SC, script fallbacks, colour emoji."""

    def __init__(self, size: int, bold: bool = False, path: str | Path | None = None) -> None:
        if size < 1:
            raise ValueError(f"font size must be positive, got {size}")
        self.size = size
        self.bold = bold
        main_path = font_path(bold, path)
        index = _simplified_chinese_index(main_path)
        main = ImageFont.truetype(str(main_path), size, index=index, layout_engine=_LAYOUT)
        self._main = _FontSlot(main, coverage(main_path, index))
        self._fallbacks = tuple(
            _FontSlot(ImageFont.truetype(str(p), size, layout_engine=_LAYOUT), coverage(p))
            for p in fallback_font_paths(bold)
        )
        emoji_path = emoji_font_path()
        self._emoji: _FontSlot | None = None
        if emoji_path is not None:
            try:
                font = ImageFont.truetype(str(emoji_path), _EMOJI_STRIKE, layout_engine=_LAYOUT)
                self._emoji = _FontSlot(font, coverage(emoji_path), emoji=True)
            except OSError:
                logger.warning("colour emoji font unusable", extra={"font": str(emoji_path)})
        ascent, descent = main.getmetrics()
        self.ascent = ascent
        self.descent = descent
        self.line_height = ascent + descent  # height of the image a line renders to
        # From the top of a line's image to the top of the ideographic em box: layouts align
        # what the eye sees (a `size`-tall box of Chinese), not the font's generous ascent.
        self.em_top = ascent - round(_EMOJI_TOP_EM * size)
        self._emoji_scale = size / _EMOJI_BOX
        self._layouts: dict[str, _Line] = {}
        # Faces are shared by every room's media thread, and a FreeType face must not be used
        # by two threads at once.
        self._lock = threading.RLock()

    # -- measuring ---------------------------------------------------------------------------

    def measure(self, text: str) -> int:
        """Width in pixels of `text` drawn on one line (ink-safe, so overhangs are included)."""
        return self._layout(text).width

    def _layout(self, text: str) -> _Line:
        line = self._layouts.get(text)
        if line is None:
            with self._lock:
                if len(self._layouts) > 4096:
                    self._layouts.clear()
                line = self._layouts[text] = self._lay_out(text)
        return line

    def _lay_out(self, text: str) -> _Line:
        rtl = _direction(text) == "R"
        runs = self._visual_order(_split_neutral_ends(self._runs(text), rtl), rtl)
        placed: list[_Placed] = []
        pen = 0.0
        ink_left = 0.0
        ink_right = 0.0
        for slot, run in runs:
            if slot.emoji:
                advance = slot.font.getlength(run) * self._emoji_scale
                left, right = 0.0, advance
            else:
                advance = slot.font.getlength(run)
                box = slot.font.getbbox(run, anchor="ls")
                left, right = (float(box[0]), float(box[2])) if box[2] > box[0] else (0.0, 0.0)
            placed.append(_Placed(slot, run, pen))
            ink_left = min(ink_left, pen + left)
            ink_right = max(ink_right, pen + right)
            pen += advance
        origin = -ink_left
        width = math.ceil(max(pen, ink_right) + origin)
        return _Line(tuple(placed), width, origin)

    def _runs(self, text: str) -> list[tuple[_FontSlot, str]]:
        runs: list[tuple[_FontSlot, str]] = []
        for g in graphemes(text):
            slot = self._pick(g, runs[-1][0] if runs else None)
            if slot is None:
                logger.debug("no font has a glyph for %r, dropped", g)
                continue
            if not slot.emoji:
                # A mark the chosen font lacks would draw as a box; the base alone reads better.
                g = g[0] + "".join(ch for ch in g[1:] if ord(ch) in slot.covers or not _is_mark(ch))
            if runs and runs[-1][0] is slot:
                runs[-1] = (slot, runs[-1][1] + g)
            else:
                runs.append((slot, g))
        return runs

    def _pick(self, g: str, current: _FontSlot | None) -> _FontSlot | None:
        base = ord(g[0])
        emoji = self._emoji
        if emoji is not None and _is_emoji(g) and base in emoji.covers:
            return emoji
        marks = [ord(ch) for ch in g[1:] if _is_mark(ch)]
        # Spaces, digits and punctuation stay in the run they are in, so an Arabic phrase with
        # numbers is shaped (and bidi-ordered by raqm) as one piece.
        if (
            current is not None
            and not current.emoji
            and not unicodedata.category(g[0]).startswith("L")
            and base in current.covers
        ):
            return current
        slots = (self._main, *self._fallbacks)
        for slot in slots:  # a font with the base and all its marks first
            if base in slot.covers and all(m in slot.covers for m in marks):
                return slot
        for slot in slots:
            if base in slot.covers:
                return slot
        if emoji is not None and base in emoji.covers:
            return emoji
        return None

    @staticmethod
    def _visual_order(runs: list[tuple[_FontSlot, str]], rtl: bool) -> list[tuple[_FontSlot, str]]:
        """Order font runs left to right (a reduced UAX #9: runs are the units, raqm orders within)."""
        dirs = [_direction(text) for _, text in runs]
        paragraph = "R" if rtl else "L"
        for i, d in enumerate(dirs):
            if d == "N":
                before = next((x for x in reversed(dirs[:i]) if x != "N"), paragraph)
                after = next((x for x in dirs[i + 1 :] if x != "N"), paragraph)
                dirs[i] = before if before == after else paragraph
        segments: list[tuple[str, list[tuple[_FontSlot, str]]]] = []
        for d, run in zip(dirs, runs):
            if segments and segments[-1][0] == d:
                segments[-1][1].append(run)
            else:
                segments.append((d, [run]))
        if rtl:
            segments.reverse()
        ordered: list[tuple[_FontSlot, str]] = []
        for d, seg in segments:
            ordered.extend(seg if d == "L" else reversed(seg))
        return ordered

    # -- fitting -----------------------------------------------------------------------------

    def ellipsize(self, text: str, max_width: int, *, force: bool = False) -> str:
        """`text` if it fits in `max_width`, else its longest prefix + "…" that does ("" if none).

        With `force`, the ellipsis is added even when `text` fits (it was cut elsewhere).
        """
        if not force and self.measure(text) <= max_width:
            return text
        parts = graphemes(text)
        lo, hi = 0, len(parts)  # the answer keeps parts[:k] for the largest fitting k
        while lo < hi:
            mid = (lo + hi + 1) // 2
            if self.measure("".join(parts[:mid]).rstrip(_BEFORE_ELLIPSIS) + ELLIPSIS) <= max_width:
                lo = mid
            else:
                hi = mid - 1
        candidate = "".join(parts[:lo]).rstrip(_BEFORE_ELLIPSIS) + ELLIPSIS
        return candidate if self.measure(candidate) <= max_width else ""

    def wrap(self, text: str, max_width: int, max_lines: int) -> list[str]:
        """Break `text` into at most `max_lines` lines no wider than `max_width`.

        Chinese, Japanese and emoji break between any two characters (but not before closing or
        after opening punctuation); other scripts break at spaces, and a word longer than a line
        is split. Text that does not fit ends with "…".
        """
        text = clean(text)
        if max_lines < 1 or not text:
            return []
        lines: list[str] = []
        current = ""
        truncated = False
        for atom in _atoms(text):
            candidate = current + atom
            if self.measure(candidate.rstrip()) <= max_width:
                current = candidate
                continue
            if current.strip():
                lines.append(current.rstrip())
            current = atom.lstrip()
            while len(lines) < max_lines and self.measure(current.rstrip()) > max_width:
                head, current = self._split_word(current, max_width)
                if not head:
                    break  # not even one character fits: nothing sensible to draw
                lines.append(head)
            if len(lines) >= max_lines:
                truncated = True
                break
        if not truncated and current.strip():
            lines.append(current.rstrip())
        if len(lines) > max_lines:
            truncated = True
        lines = [line for line in lines[:max_lines] if self.measure(line) <= max_width]
        if truncated and lines:
            lines[-1] = self.ellipsize(lines[-1], max_width, force=True)
            if not lines[-1]:
                lines.pop()
        return lines

    def _split_word(self, word: str, max_width: int) -> tuple[str, str]:
        parts = graphemes(word)
        # No visible glyph is narrower than a fifth of an em, so longer prefixes need no measuring.
        lo, hi = 0, min(len(parts), 5 * max_width // self.size + 1)
        while lo < hi:
            mid = (lo + hi + 1) // 2
            if self.measure("".join(parts[:mid])) <= max_width:
                lo = mid
            else:
                hi = mid - 1
        return "".join(parts[:lo]), "".join(parts[lo:])

    # -- drawing -----------------------------------------------------------------------------

    def render(self, text: str, fill: tuple[int, int, int, int]) -> Image.Image:
        """One line as a straight-alpha RGBA image, `measure(text)` wide and `line_height` tall."""
        line = self._layout(text)
        width = max(1, line.width)
        mask = Image.new("L", (width, self.line_height), 0)
        draw = ImageDraw.Draw(mask)
        emoji: list[tuple[int, Image.Image]] = []
        with self._lock:
            for run in line.runs:
                x = run.x + line.origin
                if run.slot.emoji:
                    emoji.append((round(x), _emoji_image(run.slot.font, run.text, self.size)))
                else:
                    font = run.slot.font
                    draw.text((x, self.ascent), run.text, font=font, fill=255, anchor="ls")
        r, g, b, a = fill
        image = Image.new("RGBA", (width, self.line_height), (r, g, b, 0))
        if a < 255:
            mask = mask.point([m * a // 255 for m in range(256)])
        image.putalpha(mask)
        top = round(self.ascent - _EMOJI_TOP_EM * self.size)
        for x, picture in emoji:
            _composite_clipped(image, picture, x, top)
        return image

    def draw(
        self, image: Image.Image, xy: tuple[int, int], text: str, fill: tuple[int, int, int, int]
    ) -> None:
        """Composite one line onto an RGBA `image` with its line box's top-left at `xy`."""
        _composite_clipped(image, self.render(text, fill), int(xy[0]), int(xy[1]))


def _split_neutral_ends(
    runs: list[tuple[_FontSlot, str]], rtl: bool
) -> list[tuple[_FontSlot, str]]:
    """Detach spaces and punctuation at the ends of runs against the paragraph direction.

    Bidi gives such neutrals the paragraph's direction, e.g. the "…" closing an English phrase in an
    Arabic line belongs at the far left; left inside the English run it would sit mid-line.
    """
    paragraph = "R" if rtl else "L"
    out: list[tuple[_FontSlot, str]] = []
    for slot, text in runs:
        direction = _direction(text)
        if slot.emoji or direction in ("N", paragraph):
            out.append((slot, text))
            continue
        core = text.strip(_NEUTRAL_END)
        start = text.index(core) if core else 0
        lead, tail = text[:start], text[start + len(core) :]
        out.extend((slot, piece) for piece in (lead, core, tail) if piece)
    return out


def _atoms(text: str) -> list[str]:
    """Pieces between which a line may break; trailing spaces stay with the piece before them."""
    atoms: list[str] = []
    previous = ""
    for g in graphemes(text):
        if atoms and _can_break(previous, g):
            atoms.append(g)
        elif atoms:
            atoms[-1] += g
        else:
            atoms.append(g)
        previous = g
    return atoms


def _can_break(previous: str, g: str) -> bool:
    if g == " " or g[0] in _NO_LINE_START or previous[-1] in _NO_LINE_END:
        return False
    return previous == " " or _breaks_anywhere(previous) or _breaks_anywhere(g)


def _composite_clipped(target: Image.Image, picture: Image.Image, x: int, y: int) -> None:
    """alpha_composite that accepts pictures hanging over any edge of the target."""
    left, top = max(0, x), max(0, y)
    right = min(target.width, x + picture.width)
    bottom = min(target.height, y + picture.height)
    if right <= left or bottom <= top:
        return
    piece = picture.crop((left - x, top - y, right - x, bottom - y))
    target.alpha_composite(piece, (left, top))


@lru_cache(maxsize=512)
def _emoji_image(font: ImageFont.FreeTypeFont, text: str, size: int) -> Image.Image:
    """An emoji run drawn at the bitmap strike, then scaled (Pillow resamples RGBA premultiplied)."""
    width = max(1, math.ceil(font.getlength(text)))
    strike = Image.new("RGBA", (width, _EMOJI_BOX), (0, 0, 0, 0))
    ascent = font.getmetrics()[0]
    ImageDraw.Draw(strike).text((0, ascent), text, font=font, anchor="ls", embedded_color=True)
    scale = size / _EMOJI_BOX
    target = (max(1, round(width * scale)), max(1, round(_EMOJI_BOX * scale)))
    return strike.resize(target, Image.Resampling.LANCZOS)


@lru_cache(maxsize=8)
def _simplified_chinese_index(path: Path) -> int:
    """The face of a Noto CJK collection with Simplified Chinese glyph shapes (the overlays' audience)."""
    if path.suffix.lower() != ".ttc":
        return 0
    for index in range(16):
        try:
            family = ImageFont.truetype(str(path), 12, index=index).getname()[0] or ""
        except OSError:
            break
        if family.endswith(" SC"):
            return index
    return 0


@lru_cache(maxsize=64)
def face(size: int, bold: bool = False) -> TextFace:
    """The shared face for `size` and weight (fonts are loaded once per process)."""
    return TextFace(size, bold)
