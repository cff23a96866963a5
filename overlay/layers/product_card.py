"""The pinned product card (讲解中): photo, name, price per unit and what is left, on dark glass."""

from __future__ import annotations

import io
import logging
from dataclasses import dataclass

from PIL import Image, ImageOps

from overlay.layer import Layer, Rendered
from overlay.layers.shop_layout import card_box, yuan
from overlay.shapes import rounded_rect, rounded_rect_mask
from overlay.text import face
from overlay.theme import ACCENT, PANEL, TEXT, TEXT_MUTED, Colour, unit

logger = logging.getLogger(__name__)

PRICE: Colour = (255, 214, 102, 255)  # warm gold: the price is what the eye looks for
TILE: Colour = (38, 176, 92, 160)
BADGE_TEXT = "讲解中"


@dataclass(frozen=True)
class ProductCardState:
    name: str = ""
    name_en: str = ""
    price_fen: int = 0
    unit: str = ""
    stock: int = 0
    photo: bytes | None = None  # JPEG/PNG bytes, decoded on the media thread when drawn


def _photo(data: bytes | None, side: int, initial: str) -> Image.Image:
    radius = max(2, side // 10)
    if data:
        try:
            source = Image.open(io.BytesIO(data))
            source.draft("RGB", (side * 2, side * 2))  # JPEG: decode at a reduced size
            picture = ImageOps.fit(source.convert("RGB"), (side, side), Image.Resampling.LANCZOS).convert("RGBA")
            picture.putalpha(rounded_rect_mask((side, side), radius))
            return picture
        except (OSError, ValueError, Image.DecompressionBombError):
            logger.warning("product photo could not be decoded; drawing a tile instead")
    tile = rounded_rect((side, side), radius, TILE)
    f = face(round(side * 0.5), bold=True)
    if initial:
        f.draw(tile, ((side - f.measure(initial)) // 2, (side - f.size) // 2 - f.em_top), initial, TEXT)
    return tile


class ProductCard(Layer[ProductCardState]):
    def render(self, state: ProductCardState, frame_size: tuple[int, int]) -> Rendered | None:
        if not state.name.strip():
            return None
        u = unit(frame_size)
        box = card_box(frame_size)
        pad = round(16 * u)
        gap = round(14 * u)
        side = round(min(112 * u, box.width * 0.28))
        badge_face = face(round(18 * u), bold=True)
        name_face = face(round(26 * u), bold=True)
        en_face = face(round(18 * u))
        price_face = face(round(36 * u), bold=True)
        small_face = face(round(20 * u))

        text_w = box.width - 2 * pad - side - gap
        badge_w = badge_face.measure(BADGE_TEXT) + round(16 * u)
        badge_h = round(badge_face.size * 1.5)
        names = name_face.wrap(state.name, text_w, 2)
        en = en_face.wrap(state.name_en, text_w, 1) if state.name_en.strip() else []
        price = yuan(state.price_fen)
        # A long price shrinks rather than running off the card.
        while price_face.measure(price) > text_w and price_face.size > round(18 * u):
            price_face = face(price_face.size - 2, bold=True)
        price = price_face.ellipsize(price, text_w)
        per = f"/{state.unit}" if state.unit else ""
        per = small_face.ellipsize(per, max(0, text_w - price_face.measure(price) - round(6 * u)))
        stock = "已售罄 Sold out" if state.stock <= 0 else f"仅剩 {state.stock} 件 · {state.stock} left"
        if small_face.measure(stock) > text_w:
            stock = "已售罄" if state.stock <= 0 else f"仅剩 {state.stock} 件"  # narrow card: Chinese only
        stock = small_face.ellipsize(stock, text_w)

        name_pitch = round(name_face.size * 1.3)
        heights = [badge_h + round(8 * u), (len(names) - 1) * name_pitch + name_face.size]
        if en:
            heights.append(round(6 * u) + en_face.size)
        heights += [round(10 * u) + price_face.size, round(8 * u) + small_face.size]
        content_h = sum(heights)
        panel_h = min(box.max_height, max(side, content_h) + 2 * pad)
        canvas = Image.new("RGBA", (box.width, panel_h), (0, 0, 0, 0))
        canvas.alpha_composite(rounded_rect((box.width, panel_h), round(14 * u), PANEL))
        canvas.alpha_composite(_photo(state.photo, side, state.name.strip()[:1]), (pad, pad))

        x = pad + side + gap
        y = pad
        canvas.alpha_composite(rounded_rect((badge_w, badge_h), badge_h / 2, ACCENT), (x, y))
        badge_face.draw(canvas, (x + round(8 * u), y + (badge_h - badge_face.size) // 2 - badge_face.em_top), BADGE_TEXT, TEXT)
        y += heights[0]
        for i, line in enumerate(names):
            name_face.draw(canvas, (x, y + i * name_pitch - name_face.em_top), line, TEXT)
        y += heights[1]
        if en:
            y += round(6 * u)
            en_face.draw(canvas, (x, y - en_face.em_top), en[0], TEXT_MUTED)
            y += en_face.size
        y += round(10 * u)
        price_face.draw(canvas, (x, y - price_face.em_top), price, PRICE)
        px = x + price_face.measure(price) + round(6 * u)
        small_face.draw(canvas, (px, y + price_face.size - small_face.size - small_face.em_top), per, TEXT_MUTED)
        y += price_face.size + round(8 * u)
        small_face.draw(canvas, (x, y - small_face.em_top), stock, TEXT_MUTED if state.stock > 0 else PRICE)

        top = box.y - panel_h if box.bottom_aligned else box.y
        return Rendered(canvas, box.x, top)

