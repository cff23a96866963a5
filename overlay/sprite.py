"""A layer's picture converted once to premultiplied YUV 4:2:0 + alpha, and its per-frame blend."""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

from overlay.yuv import box2, rgb_to_yuv

_INV255 = 1.0 / 255.0

# Cost model for splitting a sprite into rectangles, in microseconds, measured with
# bench/composite.py on the 2-core EPYC the project targets. A partial rectangle costs six cv2
# calls (multiply + add on Y, U and V), an opaque one three copies; per 2x2 block the blend touches
# four luma and two chroma bytes. A transparent gap is only worth skipping when it saves more
# pixel work than the extra calls cost, which this model decides.
_BLEND_CALL_US = 6.0
_COPY_CALL_US = 1.5
_BLEND_BLOCK_US = 0.0019
_COPY_BLOCK_US = 0.0003


@dataclass(frozen=True, slots=True)
class _Rect:
    """One rectangle of the sprite: copied when every pixel is opaque, blended otherwise."""

    opaque: bool
    luma: tuple[slice, slice]  # frame coordinates
    chroma: tuple[slice, slice]
    y_keep: np.ndarray  # 255 - alpha: how much of the frame survives
    y_add: np.ndarray  # premultiplied colour: Y * alpha / 255
    c_keep: np.ndarray
    u_add: np.ndarray
    v_add: np.ndarray


class YuvSprite:
    """Premultiplied Y/U/V + alpha on the frame's 2x2 chroma grid, split into copy/blend rectangles.

    out = round(frame * keep / 255) + add, where keep = 255 - alpha and add = colour * alpha / 255:
    one rounding each, so the result is within 1 of the float blend.
    """

    __slots__ = ("_rects", "covered", "height", "width", "x", "y")

    def __init__(
        self, x: int, y: int, width: int, height: int, covered: int, rects: tuple[_Rect, ...]
    ) -> None:
        self.x = x
        self.y = y
        self.width = width
        self.height = height
        self.covered = covered  # luma pixels with non-zero alpha, for coverage figures
        self._rects = rects

    @property
    def rect_count(self) -> int:
        return len(self._rects)

    def rects(self) -> list[tuple[bool, int, int, int, int]]:
        """(opaque, x, y, width, height) of each rectangle in frame coordinates, for tests and tuning."""
        out = []
        for r in self._rects:
            ys, xs = r.luma
            out.append((r.opaque, xs.start, ys.start, xs.stop - xs.start, ys.stop - ys.start))
        return out

    def window(self, src_x: int, width: int, dst_x: int, dst_y: int) -> YuvSprite:
        """Columns [src_x, src_x + width) of this sprite, with column src_x drawn at dst_x and row
        0 at dst_y. The result holds views of this sprite's planes: moving a picture (a scrolling
        ticker) costs a few slices per frame, never a conversion. All four values must be even
        (4:2:0), and the caller keeps the window inside the frame.
        """
        if (src_x | width | dst_x | dst_y) & 1:
            raise ValueError(f"window needs even values, got {src_x}, {width}, {dst_x}, {dst_y}")
        dx = dst_x - src_x
        stop = src_x + width
        rects = []
        for r in self._rects:
            ys, xs = r.luma
            c0, c1 = max(xs.start, src_x), min(xs.stop, stop)
            if c1 <= c0:
                continue
            a, b = c0 - xs.start, c1 - xs.start  # the rectangle's own columns, even
            y0, y1 = ys.start + dst_y, ys.stop + dst_y
            rects.append(
                _Rect(
                    opaque=r.opaque,
                    luma=(slice(y0, y1), slice(c0 + dx, c1 + dx)),
                    chroma=(slice(y0 // 2, y1 // 2), slice((c0 + dx) // 2, (c1 + dx) // 2)),
                    y_keep=r.y_keep[:, a:b],
                    y_add=r.y_add[:, a:b],
                    c_keep=r.c_keep[:, a // 2 : b // 2],
                    u_add=r.u_add[:, a // 2 : b // 2],
                    v_add=r.v_add[:, a // 2 : b // 2],
                )
            )
        if not rects:
            return _empty(dst_x, dst_y)
        return _bounded(tuple(rects), covered=0)

    def blend(self, y: np.ndarray, u: np.ndarray, v: np.ndarray, opacity: float = 1.0) -> None:
        """Blend in place onto the planes of a frame; `opacity` scales alpha (fades)."""
        if opacity >= 254.5 / 255.0:
            self._blend_full(y, u, v)
        elif opacity > 0.5 / 255.0:
            self._blend_faded(y, u, v, opacity)

    def _blend_full(self, y: np.ndarray, u: np.ndarray, v: np.ndarray) -> None:
        multiply = cv2.multiply
        add = cv2.add
        for r in self._rects:
            ys = y[r.luma]
            us = u[r.chroma]
            vs = v[r.chroma]
            if r.opaque:
                ys[...] = r.y_add
                us[...] = r.u_add
                vs[...] = r.v_add
            else:
                # cv2 writes through the strided views (inner stride 1), with SIMD and no temporaries.
                multiply(ys, r.y_keep, ys, _INV255)
                add(ys, r.y_add, ys)
                multiply(us, r.c_keep, us, _INV255)
                add(us, r.u_add, us)
                multiply(vs, r.c_keep, vs, _INV255)
                add(vs, r.v_add, vs)

    def _blend_faded(self, y: np.ndarray, u: np.ndarray, v: np.ndarray, opacity: float) -> None:
        # Fades last a few frames, so per-frame scaled copies of keep/add are affordable here:
        # keep' = 255 - o * alpha = o * keep + 255 * (1 - o), add' = o * add.
        o = float(opacity)
        base = 255.0 * (1.0 - o)
        scale = cv2.convertScaleAbs
        multiply = cv2.multiply
        add = cv2.add
        for r in self._rects:
            ys = y[r.luma]
            us = u[r.chroma]
            vs = v[r.chroma]
            y_keep = scale(r.y_keep, alpha=o, beta=base)
            c_keep = scale(r.c_keep, alpha=o, beta=base)
            multiply(ys, y_keep, ys, _INV255)
            add(ys, scale(r.y_add, alpha=o), ys)
            multiply(us, c_keep, us, _INV255)
            add(us, scale(r.u_add, alpha=o), us)
            multiply(vs, c_keep, vs, _INV255)
            add(vs, scale(r.v_add, alpha=o), vs)


def rgba_to_sprite(image: np.ndarray, x: int, y: int, frame_size: tuple[int, int]) -> YuvSprite:
    """Convert a straight-alpha RGBA picture placed at (x, y) into a sprite for a frame of `frame_size`.

    The picture is clipped to the frame, trimmed to its non-transparent box and padded with
    transparent pixels to even coordinates, so each chroma sample covers exactly the 2x2 luma
    pixels it sits over even when x or y is odd.
    """
    frame_w, frame_h = frame_size
    if frame_w % 2 or frame_h % 2:
        raise ValueError(f"4:2:0 frames have even dimensions, got {frame_w}x{frame_h}")
    rgba = np.asarray(image)
    if rgba.ndim != 3 or rgba.shape[2] != 4 or rgba.dtype != np.uint8:
        raise ValueError(f"expected (h, w, 4) uint8 RGBA, got {rgba.shape} {rgba.dtype}")
    x, y = int(x), int(y)
    h, w = rgba.shape[:2]
    x0, y0 = max(x, 0), max(y, 0)
    x1, y1 = min(x + w, frame_w), min(y + h, frame_h)
    if x1 <= x0 or y1 <= y0:
        return _empty(x0, y0)
    crop = rgba[y0 - y : y1 - y, x0 - x : x1 - x]
    alpha = crop[..., 3]
    rows = np.flatnonzero(alpha.any(axis=1))
    if rows.size == 0:
        return _empty(x0, y0)
    cols = np.flatnonzero(alpha.any(axis=0))
    crop = crop[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]
    x0 += int(cols[0])
    y0 += int(rows[0])
    ch, cw = crop.shape[:2]

    ex0, ey0 = x0 & ~1, y0 & ~1
    ex1, ey1 = (x0 + cw + 1) & ~1, (y0 + ch + 1) & ~1
    padded = np.zeros((ey1 - ey0, ex1 - ex0, 4), dtype=np.uint8)
    padded[y0 - ey0 : y0 - ey0 + ch, x0 - ex0 : x0 - ex0 + cw] = crop
    return _convert(padded, ex0, ey0)


def joined(*sprites: YuvSprite) -> YuvSprite:
    """One sprite that blends each of `sprites` in turn (a layer drawn from several pictures)."""
    rects = tuple(r for s in sprites for r in s._rects)
    if not rects:
        return _empty(sprites[0].x if sprites else 0, sprites[0].y if sprites else 0)
    return _bounded(rects, covered=sum(s.covered for s in sprites))


def _bounded(rects: tuple[_Rect, ...], covered: int) -> YuvSprite:
    x0 = min(r.luma[1].start for r in rects)
    y0 = min(r.luma[0].start for r in rects)
    x1 = max(r.luma[1].stop for r in rects)
    y1 = max(r.luma[0].stop for r in rects)
    return YuvSprite(x0, y0, x1 - x0, y1 - y0, covered, rects)


def _empty(x: int, y: int) -> YuvSprite:
    return YuvSprite(x & ~1, y & ~1, 0, 0, 0, ())


def _convert(rgba: np.ndarray, x: int, y: int) -> YuvSprite:
    h, w = rgba.shape[:2]
    alpha8 = rgba[..., 3]
    alpha = alpha8.astype(np.float32)
    yuv = rgb_to_yuv(rgba[..., :3])
    y_add = _round_u8(yuv[..., 0] * alpha * _INV255)
    y_keep = 255 - alpha8

    # Chroma alpha is the 2x2 box average of luma alpha (rounded to 8 bits like every alpha here);
    # chroma colour is the average of the premultiplied samples, i.e. what blending at full
    # resolution and then subsampling would give.
    c_alpha = box2(alpha)
    c_keep = 255 - _round_u8(c_alpha)
    premult = yuv[..., 1:] * (alpha * _INV255)[..., None]
    c_add = box2(premult)
    u_add = _round_u8(c_add[..., 0])
    v_add = _round_u8(c_add[..., 1])

    corners = (alpha8[0::2, 0::2], alpha8[0::2, 1::2], alpha8[1::2, 0::2], alpha8[1::2, 1::2])
    lo = np.minimum(np.minimum(corners[0], corners[1]), np.minimum(corners[2], corners[3]))
    hi = np.maximum(np.maximum(corners[0], corners[1]), np.maximum(corners[2], corners[3]))
    rects = []
    for opaque, r0, r1, c0, c1 in _plan(lo, hi):
        luma = (slice(2 * r0, 2 * r1), slice(2 * c0, 2 * c1))
        chroma = (slice(r0, r1), slice(c0, c1))
        rects.append(
            _Rect(
                opaque=opaque,
                luma=(slice(y + 2 * r0, y + 2 * r1), slice(x + 2 * c0, x + 2 * c1)),
                chroma=(slice(y // 2 + r0, y // 2 + r1), slice(x // 2 + c0, x // 2 + c1)),
                y_keep=y_keep[luma],
                y_add=y_add[luma],
                c_keep=c_keep[chroma],
                u_add=u_add[chroma],
                v_add=v_add[chroma],
            )
        )
    covered = int(np.count_nonzero(alpha8))
    return YuvSprite(x, y, w, h, covered, tuple(rects))


def _round_u8(values: np.ndarray) -> np.ndarray:
    rounded: np.ndarray = np.clip(np.rint(values), 0, 255).astype(np.uint8)
    return rounded


def _plan(lo: np.ndarray, hi: np.ndarray) -> list[tuple[bool, int, int, int, int]]:
    """Split a sprite's 2x2-block grid into horizontal bands: (opaque, r0, r1, c0, c1) in blocks.

    Rows of blocks with the same extent and opacity are grouped, then a dynamic programme picks
    the band boundaries that minimise the cost model: skipping transparent rows, copying opaque
    bands and blending the rest, each band trimmed to the union of its rows' extents.
    """
    bh, bw = lo.shape
    nonempty = hi > 0
    opaque = lo == 255
    any_row = nonempty.any(axis=1)
    first = np.argmax(nonempty, axis=1)
    stop = bw - np.argmax(nonempty[:, ::-1], axis=1)
    opaque_count = np.concatenate([np.zeros((bh, 1), np.int64), np.cumsum(opaque, axis=1)], axis=1)
    rows = np.arange(bh)
    opaque_in_extent = opaque_count[rows, stop] - opaque_count[rows, first]
    rows_all_opaque: np.ndarray = np.asarray(opaque_in_extent == stop - first)

    # Groups of consecutive rows with the same signature: (r0, r1, c0, c1, all_opaque) or empty.
    groups: list[tuple[int, int, int, int, bool] | None] = []
    spans: list[tuple[int, int]] = []
    previous: tuple[int, int, bool] | None = None
    # Plain lists: the loop below is Python, and indexing lists is several times faster.
    rows_first: list[int] = first.tolist()
    rows_stop: list[int] = stop.tolist()
    rows_opaque: list[bool] = rows_all_opaque.tolist()
    rows_used: list[bool] = np.asarray(any_row).tolist()
    for r in range(bh):
        sig = (rows_first[r], rows_stop[r], rows_opaque[r]) if rows_used[r] else None
        if r > 0 and sig == previous:
            spans[-1] = (spans[-1][0], r + 1)
        else:
            spans.append((r, r + 1))
            groups.append(None if sig is None else (r, r + 1, *sig))
        previous = sig

    count = len(spans)
    best = [0.0] + [math.inf] * count
    choice = [0] * (count + 1)
    band: list[tuple[bool, int, int] | None] = [None] * (count + 1)
    for j in range(1, count + 1):
        c0, c1 = bw, 0
        uniform: tuple[int, int] | None = None
        all_opaque = True
        filled = False
        for i in range(j - 1, -1, -1):
            group = groups[i]
            if group is None:
                all_opaque = False  # copying would paint the empty rows' transparent pixels
            else:
                _, _, g0, g1, g_opaque = group
                if filled and uniform != (g0, g1):
                    all_opaque = False
                if not filled:
                    uniform = (g0, g1)
                all_opaque = all_opaque and g_opaque
                filled = True
                c0, c1 = min(c0, g0), max(c1, g1)
            if not filled:
                cost = 0.0
            else:
                # An empty row inside a band makes it partial (the band is blended there).
                area = (spans[j - 1][1] - spans[i][0]) * (c1 - c0)
                if all_opaque:
                    cost = _COPY_CALL_US + area * _COPY_BLOCK_US
                else:
                    cost = _BLEND_CALL_US + area * _BLEND_BLOCK_US
            total = best[i] + cost
            if total < best[j]:
                best[j] = total
                choice[j] = i
                band[j] = (all_opaque, c0, c1) if filled else None

    plan: list[tuple[bool, int, int, int, int]] = []
    j = count
    while j > 0:
        i = choice[j]
        chosen = band[j]
        if chosen is not None:
            opaque_band, c0, c1 = chosen
            plan.append((opaque_band, spans[i][0], spans[j - 1][1], c0, c1))
        j = i
    plan.reverse()
    return plan
