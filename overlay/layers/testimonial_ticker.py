"""The testimonial ticker (真实好评): approved buyers' reviews scrolling on a strip above the lower third.

Each item is the buyer's photo, nickname, ★ rating, a "verified buyer" tag and the quote, cut with
"…" to one line. The strip of items is rendered once per content change, converted to YUV once,
and only its window moves from frame to frame (YuvSprite.window): scrolling costs a few array
slices per frame and the usual in-box blend, never a render. When everything fits it stands still.

Placement: full safe width in portrait, the lower third's column (60% of the width) in landscape,
always just above the highest the lower third can reach, so the two never overlap.
"""

from __future__ import annotations

import io
import logging
import threading
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from overlay.layer import Layer, Rendered
from overlay.layers.lower_third import lower_third_top
from overlay.shapes import rounded_rect, rounded_rect_mask, solid
from overlay.sprite import YuvSprite, joined, rgba_to_sprite
from overlay.text import clean, face
from overlay.theme import ACCENT, PANEL, TEXT, TEXT_MUTED, Colour, is_portrait, safe_margin, unit

logger = logging.getLogger(__name__)

LABEL = "真实好评"
LABEL_SUB = "买家晒单"
VERIFIED = "✓已购"
STAR = "★"
STAR_ON: Colour = (255, 196, 36, 255)
STAR_OFF: Colour = (255, 255, 255, 70)
DIVIDER: Colour = (255, 255, 255, 60)
THUMB_BACK: Colour = (255, 255, 255, 36)
MAX_ITEMS = 12  # the newest; more would only make the loop too long to come round
SPEED = 60.0  # design pixels per second: 2 px a frame at 30 fps, smooth and readable


@dataclass(frozen=True)
class TickerItem:
    nickname: str
    rating: int  # 1-5
    quote: str
    thumbnail: bytes | None = None  # a small JPEG (the review's 320 px rendition)


@dataclass(frozen=True)
class TickerState:
    items: tuple[TickerItem, ...] = ()


@dataclass(frozen=True)
class TickerBox:
    x: int
    y: int
    width: int
    height: int
    view_x: int  # where the scrolling window starts and how wide it is
    view_width: int


def _even(value: float) -> int:
    return round(value) & ~1


@lru_cache(maxsize=16)
def ticker_box(frame_size: tuple[int, int]) -> TickerBox:
    """Where the ticker sits: everything even, so the strip's window lands on the chroma grid."""
    width, _ = frame_size
    u = unit(frame_size)
    margin = safe_margin(frame_size)
    box_w = _even(width - 2 * margin if is_portrait(frame_size) else 0.6 * width)
    box_h = _even(88 * u)
    bottom = lower_third_top(frame_size) - round(16 * u)
    x = _even(margin + 1)  # rounded up: never into the safe margin
    y = _even(bottom - box_h)
    label_w = _label_width(frame_size)
    pad = _even(14 * u)
    return TickerBox(x, y, box_w, box_h, x + label_w + pad, box_w - label_w - 2 * pad)


def ticker_top(frame_size: tuple[int, int]) -> int:
    """The ticker's top edge: layers stacked above it stay above this line."""
    return ticker_box(frame_size).y


def _gap(frame_size: tuple[int, int]) -> int:
    """Between two items (and between the last and the first when the loop comes round)."""
    return _even(40 * unit(frame_size))


def _label_width(frame_size: tuple[int, int]) -> int:
    u = unit(frame_size)
    big, small = face(round(22 * u), bold=True), face(round(16 * u))
    return _even(max(big.measure(LABEL), small.measure(LABEL_SUB)) + 2 * round(14 * u) + 1)


@dataclass(frozen=True)
class _Strip:
    sprite: YuvSprite
    loop: int  # the content's width: the scroll position wraps at this (0: it all fits, no scroll)
    speed: float  # frame pixels per second


class TestimonialTicker(Layer[TickerState]):
    __test__ = False  # a layer, not a pytest class, despite its name

    def __init__(
        self, name: str, state: TickerState, *, z: int = 0, visible: bool = True, fade_s: float = 0.25
    ) -> None:
        super().__init__(name, state, z=z, visible=visible, fade_s=fade_s)
        self._strip_lock = threading.Lock()
        self._strip_key: tuple[TickerState, tuple[int, int]] | None = None
        self._strip: _Strip | None = None
        self._scroll_from: float | None = None  # when the current strip started scrolling

    # -- the still part: panel and label --------------------------------------------------------

    def render(self, state: TickerState, frame_size: tuple[int, int]) -> Rendered | None:
        if not state.items:
            return None
        box = ticker_box(frame_size)
        u = unit(frame_size)
        radius = round(12 * u)
        canvas = Image.new("RGBA", (box.width, box.height), (0, 0, 0, 0))
        mask = rounded_rect_mask((box.width, box.height), radius)
        canvas.alpha_composite(solid((box.width, box.height), PANEL, mask))
        label_w = box.view_x - box.x - _even(14 * u)
        canvas.alpha_composite(solid((label_w, box.height), ACCENT, mask.crop((0, 0, label_w, box.height))))
        big, small = face(round(22 * u), bold=True), face(round(16 * u))
        gap = round(6 * u)
        top = (box.height - big.size - gap - small.size) // 2
        big.draw(canvas, ((label_w - big.measure(LABEL)) // 2, top - big.em_top), LABEL, TEXT)
        small.draw(
            canvas, ((label_w - small.measure(LABEL_SUB)) // 2, top + big.size + gap - small.em_top),
            LABEL_SUB, TEXT,
        )
        return Rendered(canvas, box.x, box.y)

    # -- the moving part --------------------------------------------------------------------------

    def frame_sprite(
        self, frame_size: tuple[int, int], now: float, move: tuple[int, int] = (0, 0)
    ) -> YuvSprite | None:
        # The ticker keeps its band above the lower third (flow is off): `move` is always (0, 0).
        still = self.sprite(frame_size)
        if still is None:
            return None
        strip = self._strip_for(frame_size)
        if strip is None:
            return still
        box = ticker_box(frame_size)
        offset = 0
        if strip.loop:
            if self._scroll_from is None:
                self._scroll_from = now  # new content starts at its first (newest) item
            # The nearest even pixel (chroma is 2x2): at 60 px/s and 30 fps every frame steps
            # exactly 2 pixels; truncating would drop steps to float error and stutter.
            offset = 2 * round((now - self._scroll_from) * strip.speed / 2) % strip.loop
        window = strip.sprite.window(offset, box.view_width, box.view_x, box.y)
        return joined(still, window)

    def _strip_for(self, frame_size: tuple[int, int]) -> _Strip | None:
        state = self.state
        with self._strip_lock:
            key = self._strip_key
            if key is not None and key[1] == frame_size and (key[0] is state or key[0] == state):
                return self._strip
            try:
                self._strip = self._convert_strip(state, frame_size)
            except Exception:
                # Bad content must not stop the room's video: the panel stays, without items.
                logger.exception("testimonial ticker failed to render", extra={"layer": self.name})
                self._strip = None
            self._strip_key = (state, frame_size)
            self._scroll_from = None
            return self._strip

    def warm(self, frame_size: tuple[int, int]) -> None:
        """Render and convert the current state now (from an executor), so the media thread
        finds it ready instead of rendering between two frames."""
        self.sprite(frame_size)
        self._strip_for(frame_size)

    def _convert_strip(self, state: TickerState, frame_size: tuple[int, int]) -> _Strip | None:
        box = ticker_box(frame_size)
        content = self.render_items(state, frame_size)
        if content is None:
            return None
        loop = content.width
        if loop <= box.view_width:
            strip, loop = content, 0
        else:
            # The last item and the first are neighbours once the loop comes round.
            _divider(content, loop - _gap(frame_size) // 2, unit(frame_size))
            # The content, then its beginning again: every window of view_width that starts
            # before `loop` lies inside the strip, so the loop wraps without a seam.
            strip = Image.new("RGBA", (loop + box.view_width, content.height), (0, 0, 0, 0))
            strip.paste(content, (0, 0))
            strip.paste(content.crop((0, 0, box.view_width, content.height)), (loop, 0))
        width = strip.width + (strip.width & 1)
        sprite = rgba_to_sprite(np.asarray(_padded(strip, width)), 0, 0, (width, strip.height))
        return _Strip(sprite, loop, SPEED * unit(frame_size))

    def render_items(self, state: TickerState, frame_size: tuple[int, int]) -> Image.Image | None:
        """Every item side by side on a transparent strip as tall as the ticker, followed by the
        gap that separates the last item from the first when the loop comes round."""
        box = ticker_box(frame_size)
        u = unit(frame_size)
        items = [self._item(item, box.height, frame_size) for item in state.items[:MAX_ITEMS]]
        if not items:
            return None
        gap = _gap(frame_size)
        width = _even(sum(p.width for p in items) + gap * len(items) + 1)
        strip = Image.new("RGBA", (width, box.height), (0, 0, 0, 0))
        x = 0
        for i, picture in enumerate(items):
            if i:
                _divider(strip, x - gap // 2, u)
            strip.alpha_composite(picture, (x, 0))
            x += picture.width + gap
        return strip

    def _item(self, item: TickerItem, height: int, frame_size: tuple[int, int]) -> Image.Image:
        u = unit(frame_size)
        pad = round(10 * u)
        thumb_side = height - 2 * pad
        name_face = face(round(21 * u), bold=True)
        star_face = face(round(19 * u))
        tag_face = face(round(15 * u), bold=True)
        quote_face = face(round(21 * u))
        quote_max = round((300 if is_portrait(frame_size) else 340) * u)
        name_max = round(150 * u)

        nickname = name_face.ellipsize(clean(item.nickname), name_max)
        rating = max(0, min(5, int(item.rating)))
        quote_text = clean(item.quote)
        quote = ""
        if quote_text:
            marks = quote_face.measure("“”")
            inner = quote_face.ellipsize(quote_text, quote_max - marks)
            quote = f"“{inner}”" if inner else ""
        thumb = _thumbnail(item.thumbnail, thumb_side, round(8 * u)) if item.thumbnail else None

        gap = round(8 * u)
        tag_pad = round(6 * u)
        tag_w = tag_face.measure(VERIFIED) + 2 * tag_pad
        star_w = star_face.measure(STAR)
        stars_w = 5 * star_w
        line1_w = (name_face.measure(nickname) + gap if nickname else 0) + stars_w + gap + tag_w
        text_w = max(line1_w, quote_face.measure(quote) if quote else 0)
        text_x = thumb_side + round(12 * u) if thumb is not None else 0
        canvas = Image.new("RGBA", (text_x + text_w, height), (0, 0, 0, 0))
        if thumb is not None:
            canvas.alpha_composite(thumb, (0, pad))

        line_gap = round(8 * u)
        block = name_face.size + (line_gap + quote_face.size if quote else 0)
        y = (height - block) // 2
        x = text_x
        if nickname:
            name_face.draw(canvas, (x, y - name_face.em_top), nickname, TEXT)
            x += name_face.measure(nickname) + gap
        star_y = y + (name_face.size - star_face.size) // 2 - star_face.em_top
        for i in range(5):
            star_face.draw(canvas, (x + i * star_w, star_y), STAR, STAR_ON if i < rating else STAR_OFF)
        x += stars_w + gap
        tag_h = tag_face.size + 2 * round(3 * u)
        tag_y = y + (name_face.size - tag_h) // 2
        canvas.alpha_composite(rounded_rect((tag_w, tag_h), tag_h / 2, ACCENT), (x, tag_y))
        tag_face.draw(canvas, (x + tag_pad, tag_y + (tag_h - tag_face.size) // 2 - tag_face.em_top), VERIFIED, TEXT)
        if quote:
            quote_face.draw(canvas, (text_x, y + name_face.size + line_gap - quote_face.em_top), quote, TEXT_MUTED)
        return canvas


def _divider(strip: Image.Image, x: int, u: float) -> None:
    """A thin rule halfway through the gap between two items."""
    height = round(strip.height * 0.4)
    strip.alpha_composite(solid((max(1, round(u)), height), DIVIDER), (x, (strip.height - height) // 2))


def _thumbnail(data: bytes, side: int, radius: int) -> Image.Image | None:
    """The photo cropped to a square with rounded corners; None if it does not decode."""
    try:
        with Image.open(io.BytesIO(data), formats=["JPEG", "PNG", "WEBP"]) as image:
            image.draft("RGB", (side, side))
            square = ImageOps.fit(image.convert("RGB"), (side, side), Image.Resampling.LANCZOS)
    except (UnidentifiedImageError, OSError, ValueError):
        logger.warning("ticker thumbnail does not decode; shown without it")
        return None
    picture = square.convert("RGBA")
    back = rounded_rect((side, side), radius, THUMB_BACK)
    picture.putalpha(rounded_rect_mask((side, side), radius))
    back.alpha_composite(picture)
    return back


def _padded(image: Image.Image, width: int) -> Image.Image:
    if image.width == width:
        return image
    out = Image.new("RGBA", (width, image.height), (0, 0, 0, 0))
    out.paste(image, (0, 0))
    return out
