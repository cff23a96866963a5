"""The Fieldcast broadcast look shared by every layer: palette, safe area and type scale."""

from __future__ import annotations

Colour = tuple[int, int, int, int]

ACCENT: Colour = (38, 176, 92, 255)  # fresh-leaf green: the farm brand colour
LIVE_RED: Colour = (228, 32, 48, 255)
PANEL: Colour = (12, 16, 20, 196)  # dark glass: video shows through, white text stays readable
TEXT: Colour = (255, 255, 255, 255)
TEXT_MUTED: Colour = (208, 216, 222, 255)
SLATE_TOP: tuple[int, int, int] = (20, 54, 36)
SLATE_BOTTOM: tuple[int, int, int] = (8, 14, 11)

# Broadcast safe area: nothing important within 5% of the short side of any edge (phones crop
# and round corners, players draw controls there).
SAFE_FRACTION = 0.05
# Sizes are designed for a 720-pixel short side (720x1280 portrait, 1280x720 landscape).
DESIGN_SHORT_SIDE = 720


def safe_margin(frame_size: tuple[int, int]) -> int:
    return round(SAFE_FRACTION * min(frame_size))


def unit(frame_size: tuple[int, int]) -> float:
    """Scale factor from the 720p design to this frame, so layouts hold at 480p or 1080p."""
    return min(frame_size) / DESIGN_SHORT_SIDE


def is_portrait(frame_size: tuple[int, int]) -> bool:
    width, height = frame_size
    return height > width
