"""The lower third in both orientations: inside the safe area, wrapped, readable."""

from __future__ import annotations

import numpy as np
import pytest

from overlay.layer import Rendered
from overlay.layers.lower_third import LowerThird, LowerThirdState
from overlay.theme import safe_margin

ORIENTATIONS = {"portrait": (720, 1280), "landscape": (1280, 720)}
STATES = {
    "typical": LowerThirdState(
        "青禾农场", "高山有机番茄 现摘现发", "海拔1200米 · 今晨采摘 · 顺丰冷链次日达"
    ),
    "long": LowerThirdState(
        "青禾农场" * 20, "高山有机番茄现摘现发" * 20, "今晨采摘顺丰冷链次日达" * 20
    ),
    "hostile": LowerThirdState("<script>", "<script>alert(1)</script>" * 10, "\u202e" + "ok" * 90),
    "mixed": LowerThirdState("Farm 🍅", "طماطم عضوية 🍅 עגבניות Tomatoes", "👨‍👩‍👧" * 30),
    "no_brand": LowerThirdState("", "高山有机番茄"),
}


def render(state: LowerThirdState, size: tuple[int, int]) -> Rendered:
    rendered = LowerThird("lower_third", state).render(state, size)
    assert rendered is not None
    return rendered


@pytest.mark.parametrize("orientation", ORIENTATIONS)
@pytest.mark.parametrize("case", STATES)
def test_lower_third_lies_inside_the_safe_area(orientation: str, case: str) -> None:
    width, height = ORIENTATIONS[orientation]
    margin = safe_margin((width, height))
    r = render(STATES[case], (width, height))
    assert r.image.mode == "RGBA"
    assert r.x >= margin and r.y >= margin
    assert r.x + r.image.width <= width - margin
    assert r.y + r.image.height <= height - margin


def test_landscape_sits_bottom_left_and_portrait_clears_the_players_bottom_band() -> None:
    landscape = render(STATES["typical"], (1280, 720))
    assert landscape.y + landscape.image.height == 720 - safe_margin((1280, 720))
    assert landscape.image.width < 1280 * 0.65
    portrait = render(STATES["typical"], (720, 1280))
    assert portrait.image.width == 720 - 2 * safe_margin((720, 1280))
    assert portrait.y + portrait.image.height <= 1280 * 0.84


def test_panel_is_semi_transparent_and_text_is_opaque() -> None:
    r = render(STATES["typical"], (1280, 720))
    alpha = np.asarray(r.image)[..., 3]
    values = set(np.unique(alpha).tolist())
    assert 255 in values and any(150 < a < 230 for a in values)


def test_longer_title_wraps_to_a_taller_panel() -> None:
    short = render(STATES["typical"], (1280, 720))
    long = render(STATES["long"], (1280, 720))
    assert long.image.height > short.image.height


def test_empty_state_draws_nothing() -> None:
    layer = LowerThird("lt", LowerThirdState("", "", ""))
    assert layer.render(layer.state, (1280, 720)) is None
