"""The pinned Q&A card: inside the safe area, above the lower third, wrapped, and faded in and out."""

from __future__ import annotations

import numpy as np
import pytest

from overlay.compose import Compositor
from overlay.layer import Rendered
from overlay.layers.live_badge import LiveBadge, LiveBadgeState
from overlay.layers.lower_third import LowerThird, LowerThirdState, lower_third_top
from overlay.layers.qa_card import QaCard, QaCardState, card_region
from overlay.theme import safe_margin

SIZES = {"portrait": (720, 1280), "landscape": (1280, 720), "portrait-480": (480, 854), "landscape-1080": (1920, 1080)}
STATES = {
    "typical": QaCardState("番茄什么时候发货？能发顺丰冷链吗", "今天下午4点前下单当天发货，顺丰冷链次日达", "小番茄"),
    "long": QaCardState("番茄什么时候发货" * 40, "顺丰冷链次日达，坏果包赔" * 60, "很长的昵称" * 10),
    "hostile": QaCardState("<img src=x onerror=alert(1)>" * 8, "\u202e" + "<script>alert(1)</script>" * 20, "<b>"),
    "mixed": QaCardState("هل الطماطم عضوية؟ Are they organic? 🍅", "نعم 🍅 Yes, certified organic — 有机认证 👨‍👩‍👧" * 4, "Farm fan 🌱"),
    "latin": QaCardState("When will the tomatoes ship to Hong Kong?", "Supercalifragilisticexpialidocious" * 6, ""),
}
FULLEST_LOWER_THIRD = LowerThirdState("青禾农场" * 20, "高山有机番茄现摘现发" * 20, "今晨采摘顺丰冷链次日达" * 20)


def render(state: QaCardState, size: tuple[int, int]) -> Rendered:
    rendered = QaCard("qa", state).render(state, size)
    assert rendered is not None
    return rendered


@pytest.mark.parametrize("size", SIZES.values(), ids=SIZES.keys())
@pytest.mark.parametrize("case", STATES)
def test_the_card_stays_in_the_safe_area_above_the_lower_third(size: tuple[int, int], case: str) -> None:
    r = render(STATES[case], size)
    margin = safe_margin(size)
    assert r.image.mode == "RGBA"
    assert r.x >= margin and r.x + r.image.width <= size[0] - margin
    lower_third = LowerThird("lt", FULLEST_LOWER_THIRD).render(FULLEST_LOWER_THIRD, size)
    assert lower_third is not None
    assert r.y + r.image.height < lower_third.y, "never over the lower third, however full it is"
    badge = LiveBadge("b", LiveBadgeState(True, 123456)).render(LiveBadgeState(True, 123456), size)
    assert badge is not None
    assert r.y >= badge.y + badge.image.height, "never over the LIVE badge"


@pytest.mark.parametrize("size", SIZES.values(), ids=SIZES.keys())
def test_the_reserved_band_is_where_the_fullest_lower_third_begins(size: tuple[int, int]) -> None:
    lower_third = LowerThird("lt", FULLEST_LOWER_THIRD).render(FULLEST_LOWER_THIRD, size)
    assert lower_third is not None
    # If the lower third's layout changes, this says the card's reservation must follow it.
    assert lower_third_top(size) == lower_third.y


def test_portrait_uses_the_safe_width_and_landscape_leaves_the_picture_clear() -> None:
    portrait = render(STATES["typical"], (720, 1280))
    assert portrait.image.width == 720 - 2 * safe_margin((720, 1280))
    landscape = render(STATES["typical"], (1280, 720))
    assert landscape.image.width < 1280 * 0.5
    _, top, _, bottom = card_region((1280, 720))
    assert landscape.y + landscape.image.height == bottom and landscape.y >= top


def test_a_longer_answer_wraps_to_a_taller_card_up_to_a_limit() -> None:
    short = render(STATES["typical"], (720, 1280))
    long = render(STATES["long"], (720, 1280))
    assert long.image.height > short.image.height
    # Past the line limit more text changes nothing: it is cut (with "…"), never drawn smaller.
    longer = render(QaCardState(STATES["long"].question * 2, STATES["long"].answer * 2, "小番茄"), (720, 1280))
    assert longer.image.size == long.image.size
    assert np.array_equal(np.asarray(longer.image)[-200:], np.asarray(long.image)[-200:])


def test_the_panel_is_glass_and_the_text_is_opaque() -> None:
    alpha = np.asarray(render(STATES["typical"], (1280, 720)).image)[..., 3]
    values = set(np.unique(alpha).tolist())
    assert 255 in values and any(150 < a < 230 for a in values)


@pytest.mark.parametrize("state", [QaCardState(), QaCardState("问题", ""), QaCardState("", "回答"), QaCardState("  ", "\u200b")])
def test_nothing_is_drawn_without_both_question_and_answer(state: QaCardState) -> None:
    assert QaCard("qa", state).render(state, (720, 1280)) is None


def test_the_card_fades_in_when_shown_and_out_when_hidden() -> None:
    compositor = Compositor(720, 1280)
    card = QaCard("qa", QaCardState(), visible=False, fade_s=0.4)
    compositor.add(card)
    r = render(STATES["typical"], (720, 1280))

    def luma_at(t: float) -> int:
        y = np.full((1280, 720), 200, np.uint8)
        u = np.full((640, 360), 128, np.uint8)
        v = np.full((640, 360), 128, np.uint8)
        compositor.composite(y, u, v, t)
        return int(y[r.y + 6 : r.y + r.image.height - 6, r.x + 6 : r.x + r.image.width - 6].mean())

    assert luma_at(0.0) == 200, "hidden: nothing drawn"
    card.set_state(STATES["typical"])
    card.show()
    start, middle, end = luma_at(10.0), luma_at(10.2), luma_at(10.4)
    assert start == 200 and end < middle < start, "fades in over fade_s"
    card.hide()
    assert luma_at(20.0) == end and end < luma_at(20.2) < 200 and luma_at(20.4) == 200, "and out"
    assert card.state == STATES["typical"]
