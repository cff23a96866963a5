"""Layer behaviour: lazy re-rendering on state change only, fades driven by the compositor's clock."""

from __future__ import annotations

import logging
from dataclasses import dataclass

import pytest
from PIL import Image

from overlay.layer import Layer, Rendered

SIZE = (64, 32)


@dataclass(frozen=True)
class Box:
    colour: tuple[int, int, int, int]


class CountingLayer(Layer[Box]):
    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.renders: list[tuple[Box, tuple[int, int]]] = []

    def render(self, state: Box, frame_size: tuple[int, int]) -> Rendered | None:
        self.renders.append((state, frame_size))
        return Rendered(Image.new("RGBA", (8, 8), state.colour), 2, 2)


def test_layer_renders_only_when_state_or_frame_size_changes() -> None:
    layer = CountingLayer("box", Box((255, 0, 0, 255)))
    first = layer.sprite(SIZE)
    assert layer.sprite(SIZE) is first
    layer.set_state(Box((255, 0, 0, 255)))  # equal value, new object: no re-render
    assert layer.sprite(SIZE) is first
    assert len(layer.renders) == 1
    layer.set_state(Box((0, 255, 0, 255)))
    layer.sprite(SIZE)
    layer.sprite((32, 64))
    assert [size for _, size in layer.renders] == [SIZE, SIZE, (32, 64)]


def test_set_state_is_cheap_and_defers_rendering_to_the_compositor() -> None:
    layer = CountingLayer("box", Box((255, 0, 0, 255)))
    for i in range(5):
        layer.set_state(Box((i, 0, 0, 255)))
    assert layer.renders == []
    assert layer.state == Box((4, 0, 0, 255))
    layer.sprite(SIZE)
    assert [state for state, _ in layer.renders] == [Box((4, 0, 0, 255))]


def test_fade_in_follows_the_now_of_each_composite() -> None:
    layer = CountingLayer("box", Box((1, 2, 3, 255)), visible=False, fade_s=0.2)
    assert layer.opacity(5.0) == 0.0
    layer.show()
    assert layer.visible
    # The fade starts at the first composite after show().
    assert layer.opacity(10.0) == 0.0
    assert layer.opacity(10.05) == pytest.approx(0.25)
    assert layer.opacity(10.1) == pytest.approx(0.5)
    assert layer.opacity(10.2) == 1.0
    assert layer.opacity(99.0) == 1.0


def test_fade_out_reaches_zero_after_fade_s() -> None:
    layer = CountingLayer("box", Box((1, 2, 3, 255)), fade_s=0.25)
    assert layer.opacity(1.0) == 1.0
    layer.hide()
    assert not layer.visible
    assert layer.opacity(2.0) == 1.0
    assert layer.opacity(2.125) == pytest.approx(0.5)
    assert layer.opacity(2.25) == 0.0


def test_reversing_a_fade_continues_from_the_current_opacity() -> None:
    layer = CountingLayer("box", Box((1, 2, 3, 255)), visible=False, fade_s=1.0)
    layer.show()
    layer.opacity(0.0)
    assert layer.opacity(0.6) == pytest.approx(0.6)
    layer.hide()
    # The hide takes effect at the next composite, from wherever the fade-in had got to.
    assert layer.opacity(0.7) == pytest.approx(0.7)
    assert layer.opacity(1.0) == pytest.approx(0.4)
    assert layer.opacity(1.4) == 0.0


def test_zero_fade_switches_at_once() -> None:
    layer = CountingLayer("box", Box((1, 2, 3, 255)), visible=False, fade_s=0.0)
    layer.show()
    assert layer.opacity(3.0) == 1.0


class BrokenLayer(Layer[Box]):
    calls = 0

    def render(self, state: Box, frame_size: tuple[int, int]) -> Rendered | None:
        BrokenLayer.calls += 1
        raise RuntimeError("bad data")


def test_a_failing_render_draws_nothing_logs_and_is_not_retried_every_frame(
    caplog: pytest.LogCaptureFixture,
) -> None:
    layer = BrokenLayer("broken", Box((0, 0, 0, 255)))
    with caplog.at_level(logging.ERROR, logger="overlay.layer"):
        assert layer.sprite(SIZE) is None
        assert layer.sprite(SIZE) is None
    assert BrokenLayer.calls == 1
    assert "failed to render" in caplog.text
