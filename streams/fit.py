"""Fit any source picture into the room's fixed output size.

Same shape: a straight (scaled) copy. Other orientation or aspect: the picture is scaled to fit
inside, and the space around it is filled with a blurred, darkened, zoomed copy of itself (the way
phone apps show a landscape clip in a portrait feed) rather than black bars. The blur is done at a
tiny size and scaled up, so it costs about as much as the scale itself.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from .yuv import Planes


@dataclass(frozen=True)
class FitPlan:
    src: tuple[int, int]
    out: tuple[int, int]
    # The foreground box in the output, even-aligned.
    x: int
    y: int
    w: int
    h: int

    @property
    def fills(self) -> bool:
        return (self.x, self.y, self.w, self.h) == (0, 0, *self.out)


def plan_fit(src_w: int, src_h: int, out_w: int, out_h: int) -> FitPlan:
    scale = min(out_w / src_w, out_h / src_h)
    w = min(out_w, max(2, round(src_w * scale / 2) * 2))
    h = min(out_h, max(2, round(src_h * scale / 2) * 2))
    # Within 2% of filling: stretch the last few pixels rather than show slivers of blur.
    if out_w - w <= out_w * 0.02 and out_h - h <= out_h * 0.02:
        w, h = out_w, out_h
    x = (out_w - w) // 4 * 2
    y = (out_h - h) // 4 * 2
    return FitPlan((src_w, src_h), (out_w, out_h), x, y, w, h)


def _scale(src: np.ndarray, w: int, h: int) -> np.ndarray:
    if src.shape[1] == w and src.shape[0] == h:
        return src
    shrinking = w < src.shape[1]
    return cv2.resize(src, (w, h), interpolation=cv2.INTER_AREA if shrinking else cv2.INTER_LINEAR)


def fit_into(src: Planes, out: Planes, plan: FitPlan | None = None) -> FitPlan:
    """Draw the source planes into the output planes (both yuv420p). Returns the plan used."""
    sy = src[0]
    oy = out[0]
    if plan is None or plan.src != (sy.shape[1], sy.shape[0]):
        plan = plan_fit(sy.shape[1], sy.shape[0], oy.shape[1], oy.shape[0])
    if not plan.fills:
        _blurred_fill(src, out)
    for i, (s, o) in enumerate(zip(src, out, strict=True)):
        d = 1 if i == 0 else 2
        x, y, w, h = plan.x // d, plan.y // d, plan.w // d, plan.h // d
        o[y : y + h, x : x + w] = _scale(s, w, h)
    return plan


def _blurred_fill(src: Planes, out: Planes) -> None:
    oh, ow = out[0].shape
    sh, sw = src[0].shape
    # Cover the whole output (crop the overflow), at 1/16 size, blurred, then scaled up.
    cover = max(ow / sw, oh / sh)
    cw, ch = sw * cover, sh * cover
    crop_w, crop_h = int(sw * ow / cw), int(sh * oh / ch)
    cx, cy = (sw - crop_w) // 2, (sh - crop_h) // 2
    small_w, small_h = max(4, ow // 16), max(4, oh // 16)
    for i, (s, o) in enumerate(zip(src, out, strict=True)):
        d = 1 if i == 0 else 2
        region = s[cy // d : (cy + crop_h) // d, cx // d : (cx + crop_w) // d]
        small = cv2.resize(region, (small_w, small_h), interpolation=cv2.INTER_AREA)
        small = cv2.GaussianBlur(small, (0, 0), 1.6)
        if i == 0:
            # Darken so the picture in front stands out.
            small = cv2.convertScaleAbs(small, alpha=0.55, beta=16 * 0.45)
        else:
            small = cv2.convertScaleAbs(small, alpha=0.55, beta=128 * 0.45)
        o[:, :] = cv2.resize(small, (o.shape[1], o.shape[0]), interpolation=cv2.INTER_LINEAR)
