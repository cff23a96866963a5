"""Products: what is sold, in Chinese and English, with its GTIN, unit, list price (fen) and stock."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from ..errors import InvalidInput
from .text import clean_line

_GTIN = re.compile(r"^\d{8}$|^\d{12,14}$")
_PHOTO = re.compile(r"^(https://|/static/|/media/)[^\s<>\"']{1,500}$")
MAX_PHOTOS = 9


@dataclass(frozen=True)
class Product:
    id: int | None
    name_zh: str
    name_en: str
    gtin: str
    unit: str  # what one unit is: "500g", "箱 (5kg)"
    price_fen: int  # list price of one unit
    stock: int  # units available to sell (the system-of-record value)
    photos: tuple[str, ...]
    created_at: datetime
    active: bool = True

    def name(self, lang: str = "zh") -> str:
        return self.name_en if lang == "en" and self.name_en else self.name_zh


def check_gtin(gtin: str) -> str:
    """GTIN-8/12/13/14 with a valid GS1 check digit ("" means none)."""
    gtin = gtin.strip()
    if not gtin:
        return ""
    if not _GTIN.match(gtin):
        raise InvalidInput("gtin must be 8, 12, 13 or 14 digits")
    digits = [int(c) for c in gtin]
    body, check = digits[:-1], digits[-1]
    # GS1: weights 3,1,3,1... from the right of the body.
    total = sum(d * (3 if i % 2 == 0 else 1) for i, d in enumerate(reversed(body)))
    if (10 - total % 10) % 10 != check:
        raise InvalidInput("gtin check digit is wrong")
    return gtin


def check_photos(photos: list[str]) -> tuple[str, ...]:
    if len(photos) > MAX_PHOTOS:
        raise InvalidInput(f"at most {MAX_PHOTOS} photos")
    for url in photos:
        if not _PHOTO.match(url):
            raise InvalidInput("photos must be https:// URLs or paths on this server")
    return tuple(photos)


def new_product(
    *, name_zh: str, name_en: str, gtin: str, unit: str, price_fen: int, stock: int,
    photos: list[str], now: datetime,
) -> Product:
    if price_fen <= 0:
        raise InvalidInput("price_fen must be a positive number of fen")
    if stock < 0:
        raise InvalidInput("stock cannot be negative")
    return Product(
        id=None,
        name_zh=clean_line(name_zh, field="name_zh", max_len=60),
        name_en=clean_line(name_en, field="name_en", max_len=80, min_len=0),
        gtin=check_gtin(gtin),
        unit=clean_line(unit, field="unit", max_len=20),
        price_fen=price_fen,
        stock=stock,
        photos=check_photos(photos),
        created_at=now,
    )
