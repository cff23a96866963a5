"""Flowing layers move out of the way of the layers already on screen, never off the frame."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PIL import Image

from overlay.compose import Compositor
from overlay.layer import Layer, Rendered

SIZE = (400, 600)


@dataclass(frozen=True)
class Box:
    x: int
    y: int
    w: int
    h: int


class Panel(Layer[Box]):
    def render(self, state: Box, frame_size: tuple[int, int]) -> Rendered | None:
        return Rendered(Image.new("RGBA", (state.w, state.h), (255, 255, 255, 255)), state.x, state.y)


class FlowingPanel(Panel):
    flow = True


def test_a_flowing_layer_moves_below_what_it_would_cover() -> None:
    comp = Compositor(*SIZE)
    fixed = Panel("fixed", Box(200, 40, 160, 100))
    moving = FlowingPanel("moving", Box(220, 60, 140, 80), z=5)
    moves = comp.placements([fixed, moving])
    dx, dy = moves["moving"]
    assert dx == 0 and 60 + dy >= 140 and dy % 2 == 0


def test_it_takes_the_mirrored_column_when_its_own_is_full() -> None:
    comp = Compositor(*SIZE)
    tall = Panel("tall", Box(200, 20, 180, 540))  # fills the right column to the bottom margin
    moving = FlowingPanel("moving", Box(240, 40, 140, 100), z=5)
    dx, dy = comp.placements([tall, moving])["moving"]
    assert (240 + dx, 40 + dy) == (20, 40)


def test_with_no_room_anywhere_it_keeps_its_place() -> None:
    comp = Compositor(*SIZE)
    wall = Panel("wall", Box(0, 0, 400, 600))
    moving = FlowingPanel("moving", Box(100, 100, 100, 100), z=5)
    assert comp.placements([wall, moving])["moving"] == (0, 0)


def test_the_moved_layer_is_drawn_where_it_was_placed() -> None:
    comp = Compositor(*SIZE)
    comp.add(Panel("fixed", Box(200, 40, 160, 100)))
    comp.add(FlowingPanel("moving", Box(220, 60, 140, 80), z=5, fade_s=0))
    y = np.zeros((SIZE[1], SIZE[0]), np.uint8)
    u = np.full((SIZE[1] // 2, SIZE[0] // 2), 128, np.uint8)
    v = u.copy()
    comp.composite(y, u, v, 0.0)
    dy = comp.placements(comp.layers())["moving"][1]
    assert y[60 + dy + 10, 230] > 200  # the moved panel
    assert y[150 + 2, 390] == 0  # nothing drawn beside it
