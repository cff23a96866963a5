"""Where the shop's layers sit, so they never overlap each other or the LIVE badge and caption.

Portrait (720x1280): two columns under the top row; the flash-claim countdown and then the
product card on the right, the group-buy bars on the left, all above the Q&A card's band.
Landscape (1280x720): the countdown as a pill in the top centre, the bars top-right, the product
card bottom-right (clear of the lower third, which never passes 60% of the width).
"""

from __future__ import annotations

from dataclasses import dataclass

from overlay.theme import is_portrait, safe_margin, unit


# Prices are fen; the overlay says yuan the way a Chinese shop does: ¥12.8, ¥1.
def yuan(fen: int) -> str:
    whole, cents = divmod(abs(int(fen)), 100)
    text = str(whole) if cents == 0 else f"{whole}.{cents:02d}".rstrip("0")
    return ("-" if fen < 0 else "") + "¥" + text


@dataclass(frozen=True)
class Box:
    x: int
    y: int
    width: int
    max_height: int
    bottom_aligned: bool = False  # y is the bottom edge, not the top


def _top(frame_size: tuple[int, int]) -> int:
    # Under the LIVE badge (42 design px tall) with a 16 px gap.
    return safe_margin(frame_size) + round(58 * unit(frame_size))


def countdown_box(frame_size: tuple[int, int]) -> Box:
    width, _ = frame_size
    u, m = unit(frame_size), safe_margin(frame_size)
    if is_portrait(frame_size):
        col = (width - 2 * m - round(24 * u)) // 2
        return Box(width - m - col, _top(frame_size), col, round(96 * u))
    # Centred, and narrow enough to end left of the bars' column (0.3 of the width at the right).
    w = round(0.32 * width)
    return Box((width - w) // 2, m, w, round(96 * u))


def card_box(frame_size: tuple[int, int]) -> Box:
    width, height = frame_size
    u, m = unit(frame_size), safe_margin(frame_size)
    if is_portrait(frame_size):
        col = (width - 2 * m - round(24 * u)) // 2
        top = _top(frame_size) + round(96 * u) + round(12 * u)
        return Box(width - m - col, top, col, round(250 * u))
    w = round(0.3 * width)
    return Box(width - m - w, height - m, w, round(300 * u), bottom_aligned=True)


def bars_box(frame_size: tuple[int, int]) -> Box:
    width, _ = frame_size
    u, m = unit(frame_size), safe_margin(frame_size)
    if is_portrait(frame_size):
        col = (width - 2 * m - round(24 * u)) // 2
        return Box(m, _top(frame_size), col, round(358 * u))
    w = round(0.3 * width)
    return Box(width - m - w, _top(frame_size), w, round(260 * u))
