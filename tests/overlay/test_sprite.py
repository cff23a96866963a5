"""Sprite conversion and blending: exactness against a float reference, chroma siting, runs."""

from __future__ import annotations

import numpy as np
import pytest

from overlay.sprite import joined, rgba_to_sprite
from overlay.yuv import rgb_to_yuv, rgb_to_yuv420

from .reference import reference_blend, strided

W, H = 160, 96
Planes = tuple[np.ndarray, np.ndarray, np.ndarray]


def random_frame(rng: np.random.Generator) -> Planes:
    return (
        rng.integers(0, 256, (H, W), dtype=np.uint8),
        rng.integers(0, 256, (H // 2, W // 2), dtype=np.uint8),
        rng.integers(0, 256, (H // 2, W // 2), dtype=np.uint8),
    )


def random_sprite(rng: np.random.Generator, h: int = 41, w: int = 57) -> np.ndarray:
    rgba = rng.integers(0, 256, (h, w, 4), dtype=np.uint8)
    rgba[:6, :, 3] = 0  # a transparent band, an opaque block and partial alpha elsewhere
    rgba[10:20, 5:40, 3] = 255
    return rgba


def blend(planes: Planes, rgba: np.ndarray, x: int, y: int, opacity: float = 1.0) -> Planes:
    y_plane, u_plane, v_plane = (strided(p)[0] for p in planes)
    rgba_to_sprite(rgba, x, y, (W, H)).blend(y_plane, u_plane, v_plane, opacity)
    return y_plane, u_plane, v_plane


def max_errors(out: Planes, ref: Planes) -> list[float]:
    return [float(np.abs(o.astype(np.float64) - r).max()) for o, r in zip(out, ref)]


@pytest.mark.parametrize("x, y", [(20, 10), (21, 10), (20, 11), (33, 17)])
def test_premultiplied_blend_is_within_one_of_float_reference(
    rng: np.random.Generator, x: int, y: int
) -> None:
    planes = random_frame(rng)
    rgba = random_sprite(rng)
    out = blend(planes, rgba, x, y)
    assert max(max_errors(out, reference_blend(planes, rgba, x, y))) <= 1.0


def test_odd_position_puts_chroma_on_the_frame_grid() -> None:
    # A 2x2 opaque red square at odd (x, y) straddles four chroma samples: each must get a quarter
    # alpha, not a whole sample shifted by a pixel.
    planes = (
        np.full((H, W), 16, np.uint8),
        np.full((H // 2, W // 2), 128, np.uint8),
        np.full((H // 2, W // 2), 128, np.uint8),
    )
    rgba = np.zeros((2, 2, 4), np.uint8)
    rgba[..., 0] = 255
    rgba[..., 3] = 255
    y, _, v = blend(planes, rgba, 41, 21)
    red_v = rgb_to_yuv(np.array([[255, 0, 0]], np.uint8))[0, 2]
    expected_v = 128 * 0.75 + red_v * 0.25
    assert np.abs(v[10:12, 20:22].astype(float) - expected_v).max() <= 1
    assert (v[:10] == 128).all() and (v[12:] == 128).all()
    assert (v[:, :20] == 128).all() and (v[:, 22:] == 128).all()
    assert (y[21:23, 41:43] == 81).all() and np.count_nonzero(y != 16) == 4


def test_opaque_region_is_copied_exactly_and_transparent_region_untouched(
    rng: np.random.Generator,
) -> None:
    planes = random_frame(rng)
    rgba = np.zeros((80, 120, 4), np.uint8)
    rgba[:30, :, :3] = (30, 200, 90)
    rgba[:30, :, 3] = 255  # opaque band
    rgba[70:, :, :3] = (250, 250, 250)
    rgba[70:, :, 3] = 128  # partial band; rows 30..70 are transparent
    sprite = rgba_to_sprite(rgba, 20, 8, (W, H))
    kinds = sorted((opaque, h) for opaque, _, _, _, h in sprite.rects())
    assert kinds == [(False, 10), (True, 30)]  # the transparent gap is skipped, not blended
    y, u, v = blend(planes, rgba, 20, 8)
    colour = rgb_to_yuv420(np.broadcast_to(np.array((30, 200, 90), np.uint8), (2, 2, 3)).copy())
    assert (y[8:38, 20:140] == colour[0][0, 0]).all()
    assert (u[4:19, 10:70] == colour[1][0, 0]).all()
    assert np.array_equal(y[38:78], planes[0][38:78])
    assert np.array_equal(u[19:39], planes[1][19:39])
    assert max(max_errors((y, u, v), reference_blend(planes, rgba, 20, 8))) <= 1.0


def test_blend_writes_through_strided_views_and_leaves_row_padding_alone(
    rng: np.random.Generator,
) -> None:
    planes = random_frame(rng)
    rgba = random_sprite(rng, 96, 160)
    pairs = [strided(p, pad=40, fill=7) for p in planes]
    views = [view for view, _ in pairs]
    rgba_to_sprite(rgba, 0, 0, (W, H)).blend(views[0], views[1], views[2])
    ref = reference_blend(planes, rgba, 0, 0)
    for (view, buffer), expected in zip(pairs, ref):
        assert np.abs(view.astype(float) - expected).max() <= 1.0
        assert (buffer[:, view.shape[1] :] == 7).all()


def test_sprite_hanging_over_the_frame_edges_is_clipped(rng: np.random.Generator) -> None:
    planes = random_frame(rng)
    rgba = random_sprite(rng, 50, 70)
    for x, y in [(-13, -7), (W - 30, H - 21), (-5, H - 3)]:
        out = blend(planes, rgba, x, y)
        assert max(max_errors(out, reference_blend(planes, rgba, x, y))) <= 1.0


def test_offscreen_or_transparent_sprite_draws_nothing(rng: np.random.Generator) -> None:
    planes = random_frame(rng)
    rgba = random_sprite(rng)
    assert rgba_to_sprite(rgba, W + 4, 0, (W, H)).rect_count == 0
    clear = rgba.copy()
    clear[..., 3] = 0
    out = blend(planes, clear, 10, 10)
    for o, p in zip(out, planes):
        assert np.array_equal(o, p)


@pytest.mark.parametrize("opacity", [0.25, 0.5, 0.9])
def test_faded_blend_is_within_two_of_float_reference(
    rng: np.random.Generator, opacity: float
) -> None:
    planes = random_frame(rng)
    rgba = random_sprite(rng)
    out = blend(planes, rgba, 30, 20, opacity)
    assert max(max_errors(out, reference_blend(planes, rgba, 30, 20, opacity))) <= 2.0


def test_rejects_non_rgba_input() -> None:
    with pytest.raises(ValueError):
        rgba_to_sprite(np.zeros((4, 4, 3), np.uint8), 0, 0, (W, H))


def test_rgb_to_yuv_uses_bt601_limited_range() -> None:
    colours = np.array([[[0, 0, 0], [255, 255, 255], [255, 0, 0], [0, 0, 255]]], np.uint8)
    yuv = np.rint(rgb_to_yuv(colours))[0]
    assert yuv.tolist() == [[16, 128, 128], [235, 128, 128], [81, 90, 240], [41, 240, 110]]


@pytest.mark.parametrize(
    "src_x, width, dst_x, dst_y", [(0, 40, 20, 10), (14, 30, 60, 40), (50, 40, 0, 0), (80, 40, 100, 20)]
)
def test_a_window_blends_exactly_as_the_cropped_picture_would(
    rng: np.random.Generator, src_x: int, width: int, dst_x: int, dst_y: int
) -> None:
    # A scrolling layer converts a wide picture once and moves a window over it: the window must
    # draw what converting that crop at that place would have drawn, to the bit.
    rgba = random_sprite(rng, 42, 90)
    planes = random_frame(rng)
    out = y, u, v = tuple(strided(p)[0] for p in planes)
    rgba_to_sprite(rgba, 0, 0, (90, 42)).window(src_x, width, dst_x, dst_y).blend(y, u, v)
    expected = blend(planes, np.ascontiguousarray(rgba[:, src_x : src_x + width]), dst_x, dst_y)
    assert all(np.array_equal(a, b) for a, b in zip(out, expected))


def test_a_window_needs_the_chroma_grid_and_joined_sprites_blend_in_turn(rng: np.random.Generator) -> None:
    sprite = rgba_to_sprite(random_sprite(rng, 20, 30), 0, 0, (30, 20))
    with pytest.raises(ValueError):
        sprite.window(1, 10, 0, 0)
    first, second = random_sprite(rng, 20, 30), random_sprite(rng, 20, 30)
    planes = random_frame(rng)
    out = y, u, v = tuple(strided(p)[0] for p in planes)
    joined(rgba_to_sprite(first, 10, 10, (W, H)), rgba_to_sprite(second, 20, 16, (W, H))).blend(y, u, v)
    expected = blend(blend(planes, first, 10, 10), second, 20, 16)
    assert all(np.array_equal(a, b) for a, b in zip(out, expected))
