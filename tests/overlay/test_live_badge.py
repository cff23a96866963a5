"""The LIVE badge: viewer counts in Chinese style, placement in both orientations."""

from __future__ import annotations

import numpy as np
import pytest

from overlay.layers.live_badge import LiveBadge, LiveBadgeState, format_viewers
from overlay.theme import safe_margin


@pytest.mark.parametrize(
    "count, text",
    [
        (-5, "0"),
        (0, "0"),
        (9_999, "9999"),
        (10_000, "1万"),
        (12_345, "1.2万"),
        (19_999, "1.9万"),
        (987_654, "98.7万"),
        (100_000_000, "1亿"),
        (123_456_789, "1.2亿"),
    ],
)
def test_viewer_count_is_formatted_chinese_style_rounding_down(count: int, text: str) -> None:
    assert format_viewers(count) == text


@pytest.mark.parametrize("size", [(720, 1280), (1280, 720)])
@pytest.mark.parametrize("viewers", [0, 12_345, 10**15])
def test_badge_sits_top_left_inside_the_safe_area(size: tuple[int, int], viewers: int) -> None:
    layer = LiveBadge("live", LiveBadgeState(True, viewers))
    r = layer.render(layer.state, size)
    assert r is not None
    margin = safe_margin(size)
    assert (r.x, r.y) == (margin, margin)
    assert r.x + r.image.width <= size[0] - margin
    assert r.y + r.image.height <= size[1] - margin


def test_badge_has_a_red_live_segment() -> None:
    layer = LiveBadge("live", LiveBadgeState(True, 12_345))
    rendered = layer.render(layer.state, (1280, 720))
    assert rendered is not None
    rgba = np.asarray(rendered.image)
    left = rgba[rgba.shape[0] // 2, 4:12]  # inside the pill, left of the label
    assert (left[:, 0] > 200).all() and (left[:, 1] < 60).all()


def test_badge_is_not_drawn_while_offline() -> None:
    layer = LiveBadge("live", LiveBadgeState(False, 50))
    assert layer.render(layer.state, (1280, 720)) is None
