"""Overlay compositing speed at 720p: per-frame blend of a full layer set onto strided YUV planes.

Prints `composite_ms_720p` (median per-frame Compositor.composite time with every sprite already
converted), the share of the frame the layers cover, and a naive float blend of the same sprites
as the peer. `--png DIR` also writes composited demo frames (portrait and landscape) for review.
"""

from __future__ import annotations

import argparse
import statistics
import time
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

from overlay.compose import Compositor
from overlay.layer import Layer, Rendered
from overlay.layers.live_badge import LiveBadge, LiveBadgeState
from overlay.layers.lower_third import LowerThird, LowerThirdState
from overlay.shapes import rounded_rect
from overlay.text import face
from overlay.theme import ACCENT, PANEL, TEXT, TEXT_MUTED, safe_margin, unit
from overlay.yuv import rgb_to_yuv, rgb_to_yuv420


@dataclass(frozen=True)
class Size:
    runs: int
    frames_per_run: int
    peer_runs: int
    peer_frames: int


FULL = Size(runs=7, frames_per_run=150, peer_runs=3, peer_frames=30)
SMOKE = Size(runs=1, frames_per_run=5, peer_runs=1, peer_frames=3)
POSITIVE = ("composite_ms_720p", "composite_coverage_720p", "composite_naive_float_ms_720p", "composite_speedup_vs_naive")


@dataclass(frozen=True)
class CardState:
    """A side card like the sensor readings or Q&A answer cards a room shows."""

    heading: str
    rows: tuple[str, ...]
    slot: int  # 0 = upper card on the right, 1 = lower card


class Card(Layer[CardState]):
    """Stand-in for the room's side cards, sized as they are on air."""

    def render(self, state: CardState, frame_size: tuple[int, int]) -> Rendered | None:
        width, height = frame_size
        u = unit(frame_size)
        margin = safe_margin(frame_size)
        card_w = round(420 * u)
        card_h = round(300 * u)
        gap = round(16 * u)
        card = rounded_rect((card_w, card_h), 12 * u, PANEL)
        head = face(round(30 * u), bold=True)
        body = face(round(25 * u))
        pad = round(22 * u)
        bar = Image.new("RGBA", (round(6 * u), head.size), ACCENT)
        card.alpha_composite(bar, (pad, pad))
        title = head.wrap(state.heading, card_w - 3 * pad, 1)
        if title:
            head.draw(card, (pad + round(16 * u), pad - head.em_top), title[0], TEXT)
        y = pad + head.size + round(24 * u)
        for row in state.rows:
            for line in body.wrap(row, card_w - 2 * pad, 1):
                body.draw(card, (pad, y - body.em_top), line, TEXT_MUTED)
                y += round(body.size * 1.5)
        x = width - margin - card_w
        top = margin + state.slot * (card_h + gap)
        if height > width:  # portrait: the cards stack under the LIVE badge's row
            top += round(42 * u) + gap
        return Rendered(card, x, top)


def build(width: int, height: int) -> Compositor:
    compositor = Compositor(width, height)
    compositor.add(
        LowerThird(
            "lower_third",
            LowerThirdState(
                "青禾农场", "高山有机番茄 现摘现发", "海拔1200米 · 今晨采摘 · 顺丰冷链次日达"
            ),
            z=10,
        )
    )
    compositor.add(LiveBadge("live", LiveBadgeState(True, 12345), z=20))
    compositor.add(
        Card(
            "sensors",
            CardState(
                "实时环境 Sensors", ("温度 23.4°C", "湿度 61%", "土壤 pH 6.5", "光照 38 klx"), 0
            ),
            z=5,
        )
    )
    compositor.add(
        Card(
            "answer",
            CardState(
                "主播回答 Q&A", ("问：多久能到？", "答：顺丰冷链，次日达", "江浙沪包邮 🚚"), 1
            ),
            z=5,
        )
    )
    return compositor


def synthetic_frame(width: int, height: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A smooth, colourful picture standing in for the camera (easy to judge overlays against)."""
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    r = 90 + 60 * np.sin(xx / 90.0) + 40 * (yy / height)
    g = 140 + 50 * np.cos(yy / 70.0) + 30 * (xx / width)
    b = 120 * (1 - yy / height) + 40
    rgb = np.clip(np.dstack([r, g, b]), 0, 255).astype(np.uint8)
    return rgb_to_yuv420(rgb)


def strided_planes(
    planes: tuple[np.ndarray, np.ndarray, np.ndarray], pad: int = 64
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Copies of the planes as views with a row stride wider than the picture, like a decoder's."""
    out = []
    for plane in planes:
        h, w = plane.shape
        buffer = np.zeros((h, w + pad), dtype=np.uint8)
        view = buffer[:, :w]
        view[...] = plane
        out.append(view)
    return out[0], out[1], out[2]


def coverage(compositor: Compositor) -> float:
    """Fraction of frame pixels some layer draws on (alpha > 0), counted on the rendered images."""
    size = (compositor.width, compositor.height)
    mask = np.zeros((compositor.height, compositor.width), dtype=bool)
    for layer in compositor.layers():
        rendered = layer.render(layer.state, size)
        if rendered is None:
            continue
        alpha = np.asarray(rendered.image.convert("RGBA"))[..., 3] > 0
        x, y = rendered.x, rendered.y
        h, w = alpha.shape
        x0, y0 = max(0, x), max(0, y)
        x1, y1 = min(size[0], x + w), min(size[1], y + h)
        mask[y0:y1, x0:x1] |= alpha[y0 - y : y1 - y, x0 - x : x1 - x]
    return float(mask.mean())


def _time_frames(blend: object, base: tuple[np.ndarray, ...], frames: int) -> float:
    planes = strided_planes(base)  # type: ignore[arg-type]
    times = []
    for _ in range(frames):
        for plane, source in zip(planes, base):
            plane[...] = source  # a fresh decoded picture each frame, outside the timing
        start = time.perf_counter()
        blend(*planes)  # type: ignore[operator]
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000.0


def naive_blender(compositor: Compositor) -> object:
    """The peer: float32 numpy blend of each layer's RGBA box, converted to YUV once (no runs)."""
    size = (compositor.width, compositor.height)
    boxes = []
    for layer in compositor.layers():
        rendered = layer.render(layer.state, size)
        if rendered is None:
            continue
        rgba = np.asarray(rendered.image.convert("RGBA"))
        yuv = rgb_to_yuv(rgba[..., :3])
        alpha = rgba[..., 3].astype(np.float32) / 255.0
        h, w = alpha.shape
        x, y = rendered.x & ~1, rendered.y & ~1
        h, w = h & ~1, w & ~1
        a = alpha[:h, :w]
        ca = a.reshape(h // 2, 2, w // 2, 2).mean(axis=(1, 3))
        cu = yuv[:h, :w, 1].reshape(h // 2, 2, w // 2, 2).mean(axis=(1, 3))
        cv = yuv[:h, :w, 2].reshape(h // 2, 2, w // 2, 2).mean(axis=(1, 3))
        boxes.append((x, y, w, h, a, yuv[:h, :w, 0], ca, cu, cv))

    def blend(y: np.ndarray, u: np.ndarray, v: np.ndarray) -> None:
        for x, top, w, h, a, py, ca, cu, cv in boxes:
            ys = y[top : top + h, x : x + w]
            ys[...] = ys * (1 - a) + py * a
            us = u[top // 2 : (top + h) // 2, x // 2 : (x + w) // 2]
            us[...] = us * (1 - ca) + cu * ca
            vs = v[top // 2 : (top + h) // 2, x // 2 : (x + w) // 2]
            vs[...] = vs * (1 - ca) + cv * ca

    return blend


def write_png(planes: tuple[np.ndarray, np.ndarray, np.ndarray], path: Path) -> None:
    y, u, v = planes
    width = y.shape[1]
    i420 = np.concatenate([y, u.reshape(-1, width), v.reshape(-1, width)])
    cv2.imwrite(str(path), cv2.cvtColor(i420, cv2.COLOR_YUV2BGR_I420))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--png", type=Path, help="write overlay_{portrait,landscape}.png here")
    parser.add_argument("--smoke", action="store_true", help="a tiny run that checks the path works")
    args = parser.parse_args()
    size = SMOKE if args.smoke else FULL

    width, height = 1280, 720
    compositor = build(width, height)
    base = synthetic_frame(width, height)
    warm = strided_planes(base)
    compositor.composite(*warm, now=0.0)  # renders and converts every sprite once

    def ours(y: np.ndarray, u: np.ndarray, v: np.ndarray) -> None:
        compositor.composite(y, u, v, now=1.0)

    peer = naive_blender(compositor)
    ms = statistics.median(_time_frames(ours, base, size.frames_per_run) for _ in range(size.runs))
    peer_ms = statistics.median(_time_frames(peer, base, size.peer_frames) for _ in range(size.peer_runs))
    print(f"composite_ms_720p: {ms:.3f}")
    print(f"composite_coverage_720p: {coverage(compositor):.2f}")
    print(f"composite_naive_float_ms_720p: {peer_ms:.3f}")
    print(f"composite_speedup_vs_naive: {peer_ms / ms:.1f}")

    if args.png is not None:
        args.png.mkdir(parents=True, exist_ok=True)
        for name, (w, h) in (("portrait", (720, 1280)), ("landscape", (1280, 720))):
            frame = strided_planes(synthetic_frame(w, h))
            build(w, h).composite(*frame, now=0.0)
            write_png(frame, args.png / f"overlay_{name}.png")


if __name__ == "__main__":
    main()
