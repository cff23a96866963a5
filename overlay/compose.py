"""Blends a room's overlay layers, in z order, in place onto decoded YUV 4:2:0 frames."""

from __future__ import annotations

import threading
from operator import attrgetter
from typing import Any

import numpy as np

from overlay.layer import Layer

_by_z = attrgetter("z")


def _free_top(
    box: tuple[int, int, int, int], placed: list[tuple[int, int, int, int]], gap: int, bottom: int
) -> int | None:
    """The first even top, at or below the box's own, where it overlaps nothing placed."""
    x, top, w, h = box
    while top + h <= bottom:
        hit = [b for b in placed if _overlap((x, top, w, h), b)]
        if not hit:
            return top
        top = max(b[1] + b[3] for b in hit) + gap
        top += top % 2
    return None


def _overlap(a: tuple[int, int, int, int], b: tuple[int, int, int, int]) -> bool:
    ax, ay, aw, ah = a
    bx, by, bw, bh = b
    return ax < bx + bw and bx < ax + aw and ay < by + bh and by < ay + ah


class Compositor:
    """The set of layers of one room, composited onto every frame of a fixed size.

    add/remove/get run on the event loop; composite runs on a media thread. The layer table is
    copied on write and swapped whole, so a composite iterates a consistent snapshot without
    taking the lock.
    """

    def __init__(self, width: int, height: int) -> None:
        if width <= 0 or height <= 0 or width % 2 or height % 2:
            raise ValueError(f"4:2:0 frames need positive even dimensions, got {width}x{height}")
        self.width = width
        self.height = height
        self._lock = threading.Lock()
        self._layers: dict[str, Layer[Any]] = {}

    def add(self, layer: Layer[Any]) -> None:
        with self._lock:
            layers = dict(self._layers)
            layers.pop(layer.name, None)  # a replacement goes to the end of its z band
            layers[layer.name] = layer
            self._layers = layers

    def remove(self, name: str) -> None:
        with self._lock:
            if name in self._layers:
                layers = dict(self._layers)
                del layers[name]
                self._layers = layers

    def get(self, name: str) -> Layer[Any] | None:
        return self._layers.get(name)

    def layers(self) -> list[Layer[Any]]:
        """The layers in drawing order (z ascending, then insertion order)."""
        return sorted(self._layers.values(), key=_by_z)

    def composite(self, y: np.ndarray, u: np.ndarray, v: np.ndarray, now: float) -> None:
        """Blend every visible or fading layer onto the planes in place; `now` is time.monotonic()."""
        self._check(y, (self.height, self.width), "y")
        self._check(u, (self.height // 2, self.width // 2), "u")
        self._check(v, (self.height // 2, self.width // 2), "v")
        size = (self.width, self.height)
        showing = []
        for layer in sorted(self._layers.values(), key=_by_z):
            opacity = layer.opacity(now)
            if opacity > 0.0:
                showing.append((layer, opacity))
        moves = self.placements([layer for layer, _ in showing])
        for layer, opacity in showing:
            sprite = layer.frame_sprite(size, now, moves.get(layer.name, (0, 0)))
            if sprite is not None:
                sprite.blend(y, u, v, opacity)

    def placements(self, layers: list[Layer[Any]]) -> dict[str, tuple[int, int]]:
        """Where to move each flowing layer, (dx, dy), so it covers no other layer.

        Fixed layers (badge, lower third, Q&A card, ticker, shop cards...) stay where they drew
        themselves; flowing ones (panels a host turns on and off over everything else: sensors, the
        QR code) are placed in z order, each in its own column at the first free place at or below
        where it drew itself, else in the mirrored column, else where it drew itself.
        """
        size = (self.width, self.height)
        gap = max(8, round(min(size) * 0.012)) // 2 * 2
        bottom = self.height - round(min(size) * 0.05)
        placed: list[tuple[int, int, int, int]] = []
        flowing: list[tuple[Layer[Any], tuple[int, int, int, int]]] = []
        for layer in layers:
            box = layer.box(size)
            if box is None:
                continue
            if layer.flow:
                flowing.append((layer, box))
            else:
                placed.append(box)
        moves: dict[str, tuple[int, int]] = {}
        for layer, (x, y, w, h) in flowing:
            spot = (x, y)
            for cx in (x, (self.width - x - w) // 2 * 2):
                top = _free_top((cx, y, w, h), placed, gap, bottom)
                if top is not None:
                    spot = (cx, top)
                    break
            moves[layer.name] = (spot[0] - x, spot[1] - y)
            placed.append((spot[0], spot[1], w, h))
        return moves

    @staticmethod
    def _check(plane: np.ndarray, shape: tuple[int, int], name: str) -> None:
        if plane.shape != shape or plane.dtype != np.uint8 or plane.strides[1] != 1:
            raise ValueError(
                f"plane {name} must be {shape} uint8 with contiguous rows, "
                f"got {plane.shape} {plane.dtype} strides {plane.strides}"
            )
