"""Fitting a source of any shape into the room's picture: scaled inside, blurred fill around."""

from __future__ import annotations

import numpy as np

from streams.fit import fit_into, plan_fit


def _planes(w: int, h: int, y: int, u: int, v: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    return (
        np.full((h, w), y, np.uint8),
        np.full((h // 2, w // 2), u, np.uint8),
        np.full((h // 2, w // 2), v, np.uint8),
    )


def test_landscape_into_portrait_is_centred_full_width() -> None:
    plan = plan_fit(1280, 720, 720, 1280)
    assert (plan.x, plan.w) == (0, 720)
    assert plan.h == 404 and plan.y == (1280 - 404) // 4 * 2
    assert plan.y % 2 == 0 and plan.h % 2 == 0


def test_same_shape_fills_and_near_shapes_stretch() -> None:
    assert plan_fit(1280, 720, 1280, 720).fills
    assert plan_fit(1920, 1080, 1280, 720).fills
    assert plan_fit(1270, 720, 1280, 720).fills  # within 2%: no slivers


def test_fill_is_a_darkened_copy_not_black_bars() -> None:
    src = _planes(640, 360, 180, 90, 200)
    out = _planes(720, 1280, 0, 0, 0)
    plan = fit_into(src, out)
    y, u, v = out
    assert (y[plan.y + 10 : plan.y + plan.h - 10] == 180).all()
    top = y[: plan.y - 4]
    assert 60 < top.mean() < 180  # darker than the picture, far from black
    assert abs(int(v[: plan.y // 2 - 2].mean()) - 128) > 10  # keeps the picture's colour cast
