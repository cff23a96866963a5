"""The testimonial ticker: placed above the lower third in both orientations, clear of the shop's
cards, rendered once per content change and scrolled by moving a window, hostile text kept inside."""

from __future__ import annotations

import io
from collections.abc import Iterator

import numpy as np
import pytest
from PIL import Image

from overlay.compose import Compositor
from overlay.layers.lower_third import LowerThird, LowerThirdState, lower_third_top
from overlay.layers.qa_card import QaCard, QaCardState
from overlay.layers.shop_layout import bars_box, card_box, countdown_box
from overlay.layers.testimonial_ticker import (
    MAX_ITEMS,
    TestimonialTicker,
    TickerItem,
    TickerState,
    ticker_box,
)
from overlay.theme import safe_margin

SIZES = {"portrait": (720, 1280), "landscape": (1280, 720), "portrait-480": (480, 854), "landscape-1080": (1920, 1080)}
FULLEST_LOWER_THIRD = LowerThirdState("青禾农场" * 20, "高山有机番茄现摘现发" * 20, "今晨采摘顺丰冷链次日达" * 20)
HOSTILE = ["<img src=x onerror=alert(1)>", "番茄" * 1000, "🍅🥬👨‍👩‍👧" * 300, "\u202eطماطم لذيذة جدا " * 80]


def jpeg(colour: tuple[int, int, int], size: tuple[int, int] = (320, 240)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, colour).save(out, "JPEG")
    return out.getvalue()


def items(n: int) -> tuple[TickerItem, ...]:
    colours = [(200, 40, 40), (40, 160, 60), (40, 60, 200), (230, 180, 30)]
    return tuple(
        TickerItem(f"买家{i}", 1 + i % 5, f"番茄沙沙的，酸甜刚好，第{i}次回购了", jpeg(colours[i % 4]) if i % 3 else None)
        for i in range(n)
    )


class CountingTicker(TestimonialTicker):
    """Counts how often the strip of items is rendered."""

    renders = 0

    def render_items(self, state: TickerState, frame_size: tuple[int, int]) -> Image.Image | None:
        CountingTicker.renders += 1
        return super().render_items(state, frame_size)


@pytest.fixture
def counting() -> Iterator[type[CountingTicker]]:
    CountingTicker.renders = 0
    yield CountingTicker


def planes(size: tuple[int, int]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    width, height = size
    return (
        np.full((height, width), 90, np.uint8),
        np.full((height // 2, width // 2), 120, np.uint8),
        np.full((height // 2, width // 2), 130, np.uint8),
    )


def composite(compositor: Compositor, now: float) -> np.ndarray:
    y, u, v = planes((compositor.width, compositor.height))
    compositor.composite(y, u, v, now)
    return y


def overlaps(a: tuple[int, int, int, int], b: tuple[int, int, int, int]) -> bool:
    ax, ay, aw, ah = a
    bx, by, bw, bh = b
    return ax < bx + bw and bx < ax + aw and ay < by + bh and by < ay + ah


@pytest.mark.parametrize("size", SIZES.values(), ids=SIZES.keys())
def test_the_ticker_sits_in_the_safe_area_above_the_fullest_lower_third(size: tuple[int, int]) -> None:
    box = ticker_box(size)
    margin = safe_margin(size)
    assert box.x >= margin and box.x + box.width <= size[0] - margin
    assert box.y >= margin
    assert all(v % 2 == 0 for v in (box.x, box.y, box.width, box.height, box.view_x, box.view_width))
    assert box.x < box.view_x and box.view_x + box.view_width < box.x + box.width
    lower = LowerThird("lt", FULLEST_LOWER_THIRD).render(FULLEST_LOWER_THIRD, size)
    assert lower is not None
    assert box.y + box.height <= lower_third_top(size) <= lower.y
    # Clear of the shop's cards (product card, group-buy bars, flash-claim countdown).
    for shop in (card_box(size), bars_box(size), countdown_box(size)):
        top = shop.y - shop.max_height if shop.bottom_aligned else shop.y
        assert not overlaps((box.x, box.y, box.width, box.height), (shop.x, top, shop.width, shop.max_height)), shop


@pytest.mark.parametrize("size", SIZES.values(), ids=SIZES.keys())
def test_a_pinned_qa_card_stacks_above_the_ticker(size: tuple[int, int]) -> None:
    full = QaCardState("番茄什么时候发货" * 40, "顺丰冷链次日达，坏果包赔" * 60, "很长的昵称" * 10)
    card = QaCard("qa", full).render(full, size)
    assert card is not None
    assert card.y + card.image.height <= ticker_box(size).y


@pytest.mark.parametrize("size", [SIZES["portrait"], SIZES["landscape"]], ids=["portrait", "landscape"])
def test_every_item_fits_the_strip_whatever_the_text(size: tuple[int, int]) -> None:
    box = ticker_box(size)
    ticker = TestimonialTicker("t", TickerState())
    for text in HOSTILE:
        state = TickerState((TickerItem(text, 5, text, jpeg((10, 200, 10))),))
        strip = ticker.render_items(state, size)
        assert strip is not None and strip.height == box.height
        # One item: thumbnail + text column, all of it ellipsised to the item's bounds.
        assert strip.width <= round(0.7 * size[0]), (text[:20], strip.width)
        assert np.asarray(strip)[..., 3].any()


def test_nothing_is_drawn_without_reviews() -> None:
    compositor = Compositor(720, 1280)
    compositor.add(TestimonialTicker("t", TickerState()))
    assert np.array_equal(composite(compositor, 1.0), planes((720, 1280))[0])


def test_a_bad_thumbnail_leaves_the_item_without_its_photo() -> None:
    ticker = TestimonialTicker("t", TickerState())
    with_photo = ticker.render_items(TickerState((TickerItem("小李", 5, "好吃", jpeg((200, 0, 0))),)), (720, 1280))
    broken = ticker.render_items(TickerState((TickerItem("小李", 5, "好吃", b"\xff\xd8 not a jpeg"),)), (720, 1280))
    assert with_photo is not None and broken is not None
    assert broken.width < with_photo.width


def test_it_scrolls_by_moving_a_window_without_rendering_again(counting: type[CountingTicker]) -> None:
    size = SIZES["landscape"]
    box = ticker_box(size)
    compositor = Compositor(*size)
    compositor.add(counting("t", TickerState(items(6))))
    first = composite(compositor, 100.0)
    view = (slice(box.y, box.y + box.height), slice(box.view_x, box.view_x + box.view_width))
    later = [composite(compositor, 100.0 + n / 30) for n in range(1, 61)]
    assert counting.renders == 1, "the strip is rendered once, not per frame"
    assert not np.array_equal(first[view], later[-1][view]), "two seconds on, the items have moved"
    moving = sum(not np.array_equal(a[view], b[view]) for a, b in zip([first, *later], later))
    assert moving == 60, "every frame moves"
    # Outside the ticker's box nothing changes from frame to frame.
    outside = first.copy()
    outside[box.y : box.y + box.height, box.x : box.x + box.width] = 0
    last = later[-1].copy()
    last[box.y : box.y + box.height, box.x : box.x + box.width] = 0
    assert np.array_equal(outside, last)


def test_the_loop_comes_round_without_a_seam(counting: type[CountingTicker]) -> None:
    size = SIZES["portrait"]
    ticker = counting("t", TickerState(items(5)))
    strip = ticker._strip_for(size)
    assert strip is not None and strip.loop > ticker_box(size).view_width
    compositor = Compositor(*size)
    compositor.add(ticker)
    start = composite(compositor, 50.0)
    period = strip.loop / strip.speed
    assert np.array_equal(composite(compositor, 50.0 + period), start)
    assert not np.array_equal(composite(compositor, 50.0 + period / 2), start)


def test_content_that_fits_stands_still_and_new_content_is_rendered_once(counting: type[CountingTicker]) -> None:
    size = SIZES["landscape"]
    compositor = Compositor(*size)
    ticker = counting("t", TickerState(items(1)))
    compositor.add(ticker)
    first = composite(compositor, 10.0)
    assert np.array_equal(composite(compositor, 13.0), first), "one short item does not scroll"
    ticker.set_state(TickerState((TickerItem("新买家", 5, "刚收到，很新鲜", jpeg((0, 0, 250))), *items(1))))
    changed = composite(compositor, 14.0)
    assert not np.array_equal(changed, first)
    composite(compositor, 14.5)
    assert counting.renders == 2


def test_at_most_the_newest_items_are_shown(counting: type[CountingTicker]) -> None:
    ticker = TestimonialTicker("t", TickerState())
    many = ticker.render_items(TickerState(items(MAX_ITEMS + 8)), SIZES["portrait"])
    capped = ticker.render_items(TickerState(items(MAX_ITEMS)), SIZES["portrait"])
    assert many is not None and capped is not None and many.width == capped.width
