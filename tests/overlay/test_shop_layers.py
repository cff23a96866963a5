"""The shop's layers (product card, group-buy bars, flash countdown) in both orientations: inside
the safe area, clear of each other and of the LIVE badge and lower third, whatever the text."""

from __future__ import annotations

import io
import os
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from overlay.layer import Layer, Rendered
from overlay.layers.flash_countdown import FlashCountdown, FlashCountdownState, clock
from overlay.layers.group_buy_bars import GroupBuyBar, GroupBuyBars, GroupBuyBarsState
from overlay.layers.live_badge import LiveBadge, LiveBadgeState
from overlay.layers.lower_third import LowerThird, LowerThirdState
from overlay.layers.product_card import ProductCard, ProductCardState
from overlay.theme import safe_margin

ORIENTATIONS = {"portrait": (720, 1280), "landscape": (1280, 720)}


def _photo() -> bytes:
    pixels = np.zeros((300, 400, 3), np.uint8)
    pixels[..., 0] = np.linspace(120, 240, 400, dtype=np.uint8)[None, :]
    pixels[..., 1] = 40
    out = io.BytesIO()
    Image.fromarray(pixels).save(out, "JPEG")
    return out.getvalue()


CASES = {
    "typical": (
        ProductCardState("高山有机番茄", "Highland organic tomatoes", 1280, "500g", 23, _photo()),
        GroupBuyBarsState("高山有机番茄", (
            GroupBuyBar("阳光花园", 32, 40, "已减¥5 再差8位减¥10", True),
            GroupBuyBar("翠湖小区", 12, 20, "再差8位成团 · 8 more to unlock", False),
            GroupBuyBar("金色家园", 3, 20, "再差17位成团 · 17 more to unlock", False),
        )),
        FlashCountdownState("土鸡蛋", 100, 73, 100, "live", 135),
    ),
    "hostile": (
        ProductCardState("<img src=x onerror=alert(1)>" * 20, "\u202eevil" * 50, 999999999, "箱" * 40, 0, b"not a jpeg"),
        GroupBuyBarsState("🍅" * 200, tuple(GroupBuyBar("👨‍👩‍👧" * 40, 99999, 100000, "x" * 500, False) for _ in range(9))),
        FlashCountdownState("<script>" * 40, 1, 0, 1000000, "upcoming", 90061),
    ),
}


def draw(layer: Layer[object], size: tuple[int, int]) -> Rendered:
    rendered = layer.render(layer.state, size)
    assert rendered is not None
    return rendered


def box(r: Rendered) -> tuple[int, int, int, int]:
    return r.x, r.y, r.x + r.image.width, r.y + r.image.height


def overlaps(a: tuple[int, int, int, int], b: tuple[int, int, int, int]) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


@pytest.mark.parametrize("orientation", ORIENTATIONS)
@pytest.mark.parametrize("case", CASES)
def test_shop_layers_stay_in_the_safe_area_and_clear_of_each_other(orientation: str, case: str) -> None:
    size = ORIENTATIONS[orientation]
    margin = safe_margin(size)
    card, bars, countdown = CASES[case]
    shop = [draw(ProductCard("card", card), size), draw(GroupBuyBars("bars", bars), size),
            draw(FlashCountdown("flash", countdown), size)]
    others = [draw(LiveBadge("badge", LiveBadgeState(True, 123456)), size),
              draw(LowerThird("lt", LowerThirdState("青禾农场" * 9, "高山有机番茄 现摘现发" * 9, "今晨采摘" * 30)), size)]
    for r in shop:
        x0, y0, x1, y1 = box(r)
        assert x0 >= margin and y0 >= margin and x1 <= size[0] - margin and y1 <= size[1] - margin, (case, box(r))
    for i, a in enumerate(shop):
        for b in shop[i + 1:] + others:
            assert not overlaps(box(a), box(b)), (orientation, case, box(a), box(b))
    if os.environ.get("FIELDCAST_SAVE_OVERLAYS"):
        frame = Image.new("RGBA", size, (70, 110, 60, 255))
        for r in others + shop:
            frame.alpha_composite(r.image.convert("RGBA"), (r.x, r.y))
        frame.save(Path(os.environ["FIELDCAST_SAVE_OVERLAYS"]) / f"shop-{orientation}-{case}.png")


def test_hidden_and_empty_states_draw_nothing() -> None:
    size = ORIENTATIONS["portrait"]
    assert ProductCard("c", ProductCardState()).render(ProductCardState(), size) is None
    assert GroupBuyBars("b", GroupBuyBarsState()).render(GroupBuyBarsState(), size) is None
    assert FlashCountdown("f", FlashCountdownState()).render(FlashCountdownState(), size) is None


def test_countdown_clock() -> None:
    assert clock(0) == "00:00" and clock(135) == "02:15" and clock(3661) == "1:01:01" and clock(-5) == "00:00"


@pytest.mark.parametrize("orientation", ORIENTATIONS)
def test_the_flash_claims_price_shows_whatever_the_countdown_and_the_name(orientation: str) -> None:
    size = ORIENTATIONS[orientation]
    for state in (FlashCountdownState("高山有机番茄", 100, 100, 100, "upcoming", 32),
                  FlashCountdownState("高山有机番茄 现摘现发 500g 装" * 3, 100, 100, 100, "upcoming", 90061),
                  FlashCountdownState("<script>" * 40, 12345, 7, 1000, "live", 59)):
        title, when, status, _ = FlashCountdown("f", state).texts(state, size)
        assert title == f"限量尝鲜 ¥{state.price_fen // 100 if state.price_fen % 100 == 0 else state.price_fen / 100:g}", title
        assert when.startswith("00:") or when.startswith("25:")
        assert status.startswith(state.product[:2]), status
