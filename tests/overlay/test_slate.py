"""The stand-by slate: plane shapes, studio range and visible text."""

from __future__ import annotations

import numpy as np
import pytest

from overlay.slate import render_slate


@pytest.mark.parametrize("width, height", [(1280, 720), (720, 1280)])
def test_slate_is_contiguous_yuv420_in_studio_range(width: int, height: int) -> None:
    y, u, v = render_slate(width, height, "青禾农场 · 高山有机番茄")
    assert y.shape == (height, width) and u.shape == v.shape == (height // 2, width // 2)
    for plane in (y, u, v):
        assert plane.dtype == np.uint8 and plane.flags.c_contiguous
    assert 16 <= y.min() and y.max() <= 235
    assert 16 <= u.min() and u.max() <= 240 and 16 <= v.min() and v.max() <= 240
    middle = y[height // 3 : 2 * height // 3]
    assert middle.max() > 200  # white text drawn over the dark background
    assert y[: height // 10].max() < 80


def test_slate_survives_hostile_and_huge_titles() -> None:
    y, _, _ = render_slate(1280, 720, "<script>alert(1)</script>" * 50, "主播" * 100, "x" * 900)
    assert y.shape == (720, 1280)


def test_odd_slate_size_is_rejected() -> None:
    with pytest.raises(ValueError):
        render_slate(1279, 720, "t")
