"""A named overlay layer: immutable state in, an RGBA picture out, re-rendered only when state changes."""

from __future__ import annotations

import logging
import threading
from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Generic, TypeVar

import numpy as np
from PIL import Image

from overlay.sprite import YuvSprite, rgba_to_sprite

logger = logging.getLogger(__name__)

S = TypeVar("S")


@dataclass(frozen=True)
class Rendered:
    """What a layer draws: a straight-alpha RGBA image placed with its top-left corner at (x, y)."""

    image: Image.Image
    x: int
    y: int


class Layer(ABC, Generic[S]):
    """Base class of every overlay layer.

    A layer with `flow = True` may be moved by the compositor so it does not cover another layer
    (see Compositor.placements): layers each lay themselves out for the frame, and
    flow settles what happens when more of them are on screen at once than their places allow.

    `set_state`, `show` and `hide` are called from the event loop and only swap one attribute each
    (atomic under the GIL). The compositor's media thread calls `opacity` and `sprite`, which own
    the fade clock and the render cache, so Pillow work never runs on the event loop.
    """

    flow = False

    def __init__(
        self, name: str, state: S, *, z: int = 0, visible: bool = True, fade_s: float = 0.25
    ) -> None:
        self.name = name
        self.z = z
        self.fade_s = max(0.0, float(fade_s))
        self._state = state
        # (target visible, generation): replaced as one tuple so the media thread never sees a
        # target without its generation.
        self._visibility = (bool(visible), 0)
        # Fade bookkeeping, touched only by the media thread. A fade starts at the `now` of the
        # first composite after show()/hide(), so its first frame is exactly where it begins.
        self._seen_generation = 0
        self._fade_from = 1.0 if visible else 0.0
        self._fade_to = self._fade_from
        self._fade_start = 0.0
        self._render_lock = threading.Lock()
        self._cache_key: tuple[S, tuple[int, int]] | None = None
        self._rendered: tuple[np.ndarray, int, int] | None = None
        self._cache: YuvSprite | None = None
        self._cache_move = (0, 0)

    @property
    def state(self) -> S:
        return self._state

    def set_state(self, state: S) -> None:
        self._state = state

    def show(self) -> None:
        self._visibility = (True, self._visibility[1] + 1)

    def hide(self) -> None:
        self._visibility = (False, self._visibility[1] + 1)

    @property
    def visible(self) -> bool:
        return self._visibility[0]

    @abstractmethod
    def render(self, state: S, frame_size: tuple[int, int]) -> Rendered | None:
        """Draw `state` for a frame of `frame_size` = (width, height); None draws nothing."""

    def opacity(self, now: float) -> float:
        """Fade factor 0..1 at monotonic time `now` (media thread)."""
        target, generation = self._visibility
        if generation != self._seen_generation:
            current = self._opacity_at(now)
            self._seen_generation = generation
            self._fade_from = current
            self._fade_to = 1.0 if target else 0.0
            self._fade_start = now
        return self._opacity_at(now)

    def _opacity_at(self, now: float) -> float:
        start, end = self._fade_from, self._fade_to
        if start == end or self.fade_s <= 0.0:
            return end
        elapsed = max(0.0, now - self._fade_start)
        if elapsed >= self.fade_s * abs(end - start) - 1e-9:  # float error must not stop short of 1
            return end
        step = elapsed / self.fade_s
        return start + step if end > start else start - step

    def sprite(self, frame_size: tuple[int, int], move: tuple[int, int] = (0, 0)) -> YuvSprite | None:
        """The converted picture for the current state, moved by `move` = (dx, dy) (see `flow`);
        rendering only if state or size changed, converting again only if the move changed too."""
        state = self._state
        with self._render_lock:
            key = self._cache_key
            if key is not None and key[1] == frame_size and (key[0] is state or key[0] == state):
                if move == self._cache_move:
                    return self._cache
            else:
                self._rendered = self._render_rgba(state, frame_size)
                self._cache_key = (state, frame_size)
            self._cache = self._convert(self._rendered, frame_size, move)
            self._cache_move = move
            return self._cache

    def box(self, frame_size: tuple[int, int]) -> tuple[int, int, int, int] | None:
        """Where the current state draws before any flow (x, y, width, height); None if nothing."""
        self.sprite(frame_size, self._cache_move)
        rendered = self._rendered
        if rendered is None:
            return None
        rgba, x, y = rendered
        return x, y, rgba.shape[1], rgba.shape[0]

    def frame_sprite(
        self, frame_size: tuple[int, int], now: float, move: tuple[int, int] = (0, 0)
    ) -> YuvSprite | None:
        """What to blend at monotonic time `now` (media thread). A still layer blends its cached
        sprite; a moving one overrides this to place pictures it converted once (see
        YuvSprite.window), never to render per frame.
        """
        return self.sprite(frame_size, move)

    def _render_rgba(self, state: S, frame_size: tuple[int, int]) -> tuple[np.ndarray, int, int] | None:
        try:
            rendered = self.render(state, frame_size)
            if rendered is None:
                return None
            return np.asarray(rendered.image.convert("RGBA")), rendered.x, rendered.y
        except Exception:
            # A bad state must not stop the room's video: draw nothing until the state changes.
            logger.exception("overlay layer failed to render", extra={"layer": self.name})
            return None

    @staticmethod
    def _convert(
        rendered: tuple[np.ndarray, int, int] | None,
        frame_size: tuple[int, int],
        move: tuple[int, int],
    ) -> YuvSprite | None:
        if rendered is None:
            return None
        rgba, x, y = rendered
        return rgba_to_sprite(rgba, x + move[0], y + move[1], frame_size)
