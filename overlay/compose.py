"""Blends a room's overlay layers, in z order, in place onto decoded YUV 4:2:0 frames."""

from __future__ import annotations

import threading
from operator import attrgetter
from typing import Any

import numpy as np

from overlay.layer import Layer

_by_z = attrgetter("z")


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
        for layer in sorted(self._layers.values(), key=_by_z):
            opacity = layer.opacity(now)
            if opacity <= 0.0:
                continue
            sprite = layer.frame_sprite(size, now)
            if sprite is not None:
                sprite.blend(y, u, v, opacity)

    @staticmethod
    def _check(plane: np.ndarray, shape: tuple[int, int], name: str) -> None:
        if plane.shape != shape or plane.dtype != np.uint8 or plane.strides[1] != 1:
            raise ValueError(
                f"plane {name} must be {shape} uint8 with contiguous rows, "
                f"got {plane.shape} {plane.dtype} strides {plane.strides}"
            )
