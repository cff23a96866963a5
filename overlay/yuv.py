"""RGB to BT.601 limited-range Y'CbCr, the matrix libx264 assumes for untagged yuv420p SD/HD input."""

from __future__ import annotations

import cv2
import numpy as np

# Rows give Y', Cb, Cr from full-range R'G'B' (0..255): BT.601 Kr=0.299, Kb=0.114, scaled to the
# 16..235 (luma) and 16..240 (chroma) studio ranges.
_MATRIX = np.array(
    [
        [0.299, 0.587, 0.114],
        [-0.168736, -0.331264, 0.5],
        [0.5, -0.418688, -0.081312],
    ],
    dtype=np.float32,
) * np.array([[219.0 / 255.0], [224.0 / 255.0], [224.0 / 255.0]], dtype=np.float32)
_OFFSET = np.array([16.0, 128.0, 128.0], dtype=np.float32)
# cv2.transform applies the 3x4 affine matrix per pixel with SIMD and no BLAS threads (a numpy
# matmul here hands the work to OpenBLAS, whose thread spin-up dominated on a busy 2-core box).
_AFFINE = np.hstack([_MATRIX, _OFFSET[:, None]]).astype(np.float32)


def rgb_to_yuv(rgb: np.ndarray) -> np.ndarray:
    """Convert (..., 3) uint8 RGB to (..., 3) float32 Y, U, V in code values (not rounded)."""
    flat = rgb.reshape(1, -1, 3).astype(np.float32)
    yuv = cv2.transform(flat, _AFFINE)
    return yuv.reshape(*rgb.shape[:-1], 3)


def rgb_to_yuv420(rgb: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Convert an (h, w, 3) uint8 RGB picture (even h and w) to contiguous uint8 Y, U, V planes.

    Chroma is the 2x2 box average, the same siting the sprite blender uses.
    """
    h, w = rgb.shape[:2]
    if h % 2 or w % 2:
        raise ValueError(f"4:2:0 needs even dimensions, got {w}x{h}")
    yuv = rgb_to_yuv(rgb)
    y = np.clip(np.rint(yuv[..., 0]), 0, 255).astype(np.uint8)
    chroma = box2(yuv[..., 1:])
    chroma8 = np.clip(np.rint(chroma), 0, 255).astype(np.uint8)
    return y, np.ascontiguousarray(chroma8[..., 0]), np.ascontiguousarray(chroma8[..., 1])


def box2(values: np.ndarray) -> np.ndarray:
    """Mean of each 2x2 block, float (strided adds: several times faster than reshape + mean)."""
    total: np.ndarray = values[0::2, 0::2] + values[0::2, 1::2]
    total += values[1::2, 0::2]
    total += values[1::2, 1::2]
    total *= 0.25
    return total
