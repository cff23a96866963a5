"""Test helpers: the float reference blend and frame planes with a decoder-like row stride."""

from __future__ import annotations

import numpy as np

from overlay.yuv import rgb_to_yuv


def strided(plane: np.ndarray, pad: int = 24, fill: int = 7) -> tuple[np.ndarray, np.ndarray]:
    """(view, buffer): a copy of `plane` as a view whose rows are `pad` bytes longer, like a decoder's."""
    h, w = plane.shape
    buffer = np.full((h, w + pad), fill, dtype=np.uint8)
    buffer[:, :w] = plane
    return buffer[:, :w], buffer


def reference_blend(
    planes: tuple[np.ndarray, np.ndarray, np.ndarray],
    rgba: np.ndarray,
    x: int,
    y: int,
    opacity: float = 1.0,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The blend in float64: full-resolution 'over', chroma = 2x2 average of premultiplied samples.

    Chroma alpha is the 2x2 mean of luma alpha rounded to 8 bits (the documented precision).
    """
    fy, fu, fv = (p.astype(np.float64) for p in planes)
    height, width = fy.shape
    canvas = np.zeros((height, width, 4), dtype=np.uint8)
    h, w = rgba.shape[:2]
    x0, y0 = max(0, x), max(0, y)
    x1, y1 = min(width, x + w), min(height, y + h)
    canvas[y0:y1, x0:x1] = rgba[y0 - y : y1 - y, x0 - x : x1 - x]
    a8 = canvas[..., 3].astype(np.float64)
    a = a8 / 255.0 * opacity
    yuv = rgb_to_yuv(canvas[..., :3]).astype(np.float64)
    out_y = fy * (1 - a) + yuv[..., 0] * a

    def box(values: np.ndarray) -> np.ndarray:
        mean: np.ndarray = values.reshape(height // 2, 2, width // 2, 2).mean(axis=(1, 3))
        return mean

    ca = np.rint(box(a8)) / 255.0 * opacity
    out_u = fu * (1 - ca) + box(yuv[..., 1] * a)
    out_v = fv * (1 - ca) + box(yuv[..., 2] * a)
    return out_y, out_u, out_v
