"""The compositor: z order, visibility and fades, plane validation, and thread-safe layer changes."""

from __future__ import annotations

import threading
from dataclasses import dataclass

import numpy as np
import pytest
from PIL import Image

from overlay.compose import Compositor
from overlay.layer import Layer, Rendered
from overlay.yuv import rgb_to_yuv

from .reference import strided

W, H = 96, 64


@dataclass(frozen=True)
class Square:
    rgba: tuple[int, int, int, int]
    x: int = 10
    y: int = 10
    size: int = 20


class SquareLayer(Layer[Square]):
    def render(self, state: Square, frame_size: tuple[int, int]) -> Rendered | None:
        return Rendered(Image.new("RGBA", (state.size, state.size), state.rgba), state.x, state.y)


def grey_frame() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    y = strided(np.full((H, W), 126, np.uint8))[0]
    u = strided(np.full((H // 2, W // 2), 128, np.uint8))[0]
    v = strided(np.full((H // 2, W // 2), 128, np.uint8))[0]
    return y, u, v


def luma(rgb: tuple[int, int, int]) -> int:
    return int(np.rint(rgb_to_yuv(np.array([[rgb]], np.uint8))[0, 0, 0]))


def test_higher_z_is_drawn_on_top() -> None:
    compositor = Compositor(W, H)
    compositor.add(SquareLayer("top", Square((255, 255, 255, 255)), z=5))
    compositor.add(SquareLayer("bottom", Square((0, 0, 0, 255), x=20, y=20), z=1))
    y, u, v = grey_frame()
    compositor.composite(y, u, v, now=0.0)
    assert y[25, 25] == luma((255, 255, 255))  # overlap: white (z=5) over black (z=1)
    assert y[35, 35] == luma((0, 0, 0))
    compositor.get("bottom").z = 9  # type: ignore[union-attr]
    y, u, v = grey_frame()
    compositor.composite(y, u, v, now=0.0)
    assert y[25, 25] == luma((0, 0, 0))


def test_hidden_layer_leaves_the_frame_untouched_and_fading_layer_blends_partially() -> None:
    compositor = Compositor(W, H)
    layer = SquareLayer("sq", Square((255, 255, 255, 255)), visible=False, fade_s=1.0)
    compositor.add(layer)
    y, u, v = grey_frame()
    compositor.composite(y, u, v, now=0.0)
    assert (y == 126).all()
    layer.show()
    compositor.composite(y, u, v, now=5.0)  # fade starts: opacity 0
    assert (y == 126).all()
    compositor.composite(y, u, v, now=5.5)  # opacity 0.5
    assert abs(int(y[15, 15]) - (126 + 235) / 2) <= 2
    assert y[40, 40] == 126


def test_add_replaces_a_layer_with_the_same_name_and_remove_forgets_it() -> None:
    compositor = Compositor(W, H)
    compositor.add(SquareLayer("sq", Square((255, 255, 255, 255))))
    replacement = SquareLayer("sq", Square((0, 0, 0, 255)))
    compositor.add(replacement)
    assert compositor.get("sq") is replacement
    assert len(compositor.layers()) == 1
    compositor.remove("sq")
    compositor.remove("sq")  # idempotent
    assert compositor.get("sq") is None
    y, u, v = grey_frame()
    compositor.composite(y, u, v, now=0.0)
    assert (y == 126).all()


@pytest.mark.parametrize(
    "shapes",
    [((H, W + 2), (H // 2, W // 2)), ((H, W), (H // 2 + 1, W // 2)), ((H, W), (H, W))],
)
def test_composite_rejects_planes_of_the_wrong_shape(
    shapes: tuple[tuple[int, int], tuple[int, int]],
) -> None:
    (yh, yw), (ch, cw) = shapes
    compositor = Compositor(W, H)
    with pytest.raises(ValueError):
        compositor.composite(
            np.zeros((yh, yw), np.uint8),
            np.zeros((ch, cw), np.uint8),
            np.zeros((ch, cw), np.uint8),
            now=0.0,
        )


def test_odd_frame_size_is_rejected() -> None:
    with pytest.raises(ValueError):
        Compositor(W + 1, H)


def test_layers_can_change_while_another_thread_composites() -> None:
    compositor = Compositor(W, H)
    stop = threading.Event()
    errors: list[BaseException] = []

    def media() -> None:
        y, u, v = grey_frame()
        try:
            while not stop.is_set():
                compositor.composite(y, u, v, now=0.0)
        except BaseException as exc:  # noqa: BLE001 - surfaced by the assertion below
            errors.append(exc)

    thread = threading.Thread(target=media)
    thread.start()
    try:
        for i in range(300):
            layer = SquareLayer(f"sq{i % 7}", Square((i % 256, 0, 0, 200), x=i % 50))
            compositor.add(layer)
            layer.set_state(Square((0, i % 256, 0, 200), y=i % 30))
            if i % 3 == 0:
                compositor.remove(f"sq{(i + 3) % 7}")
    finally:
        stop.set()
        thread.join(timeout=10)
    assert errors == []
