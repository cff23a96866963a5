"""The caption pill stays in the top-right safe area and never overflows, in both orientations."""

from __future__ import annotations

import pytest

from overlay.layers.caption import Caption, CaptionState
from overlay.theme import safe_margin


@pytest.mark.parametrize("size", [(720, 1280), (1280, 720)])
@pytest.mark.parametrize("text", ["模拟画面 · Simulated camera", "很长的说明" * 40, "<b>x</b> 🍅🍅🍅"])
def test_caption_fits_top_right_safe_area(size: tuple[int, int], text: str) -> None:
    layer = Caption("c", CaptionState(text))
    rendered = layer.render(layer.state, size)
    assert rendered is not None
    margin = safe_margin(size)
    assert rendered.x + rendered.image.width == size[0] - margin
    assert rendered.y == margin
    assert rendered.image.width <= size[0] // 2
    assert rendered.x >= margin


def test_blank_caption_draws_nothing() -> None:
    layer = Caption("c", CaptionState("  "))
    assert layer.render(layer.state, (720, 1280)) is None
