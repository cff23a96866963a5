"""Where the overlay's fonts live on this machine: Noto Sans CJK first, then fallbacks and emoji."""

from __future__ import annotations

import logging
from functools import lru_cache
from pathlib import Path

from overlay.errors import FontNotFound

logger = logging.getLogger(__name__)

# Directories the distributions' Noto CJK packages install into, most common first:
# Debian/Ubuntu fonts-noto-cjk, Alpine font-noto-cjk, Fedora google-noto-sans-cjk-fonts,
# Arch noto-fonts-cjk, then macOS (Homebrew casks and manual installs).
_CJK_DIRS = (
    Path("/usr/share/fonts/opentype/noto"),
    Path("/usr/share/fonts/noto-cjk"),
    Path("/usr/share/fonts/noto"),
    Path("/usr/share/fonts/google-noto-cjk"),
    Path("/usr/share/fonts/google-noto-sans-cjk-fonts"),
    Path("/usr/share/fonts/opentype/noto-cjk"),
    Path("/usr/local/share/fonts"),
    Path.home() / "Library/Fonts",
    Path("/Library/Fonts"),
    Path("/System/Library/Fonts"),
)
_CJK_NAMES = {
    False: ("NotoSansCJK-Regular.ttc", "NotoSansCJKsc-Regular.otf", "NotoSansSC-Regular.otf"),
    True: ("NotoSansCJK-Bold.ttc", "NotoSansCJKsc-Bold.otf", "NotoSansSC-Bold.otf"),
}
_INSTALL_HINT = (
    "Noto Sans CJK was not found; install it with `apt-get install fonts-noto-cjk` "
    "(Alpine: `apk add font-noto-cjk`, macOS: `brew install --cask font-noto-sans-cjk`)"
)

# Scripts Noto Sans CJK lacks (Arabic, Hebrew, Thai, Devanagari, ...), tried in this order.
_FALLBACKS = {
    False: (
        "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
        "/usr/share/fonts/dejavu/DejaVuSans.ttf",
        "/usr/share/fonts/TTF/DejaVuSans.ttf",
        "/usr/share/fonts/truetype/noto/NotoSansArabic-Regular.ttf",
        "/usr/share/fonts/truetype/noto/NotoSansHebrew-Regular.ttf",
        "/usr/share/fonts/truetype/noto/NotoSansThai-Regular.ttf",
        "/usr/share/fonts/truetype/noto/NotoSansDevanagari-Regular.ttf",
        "/System/Library/Fonts/Supplemental/Arial Unicode.ttf",
    ),
    True: (
        "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf",
        "/usr/share/fonts/dejavu/DejaVuSans-Bold.ttf",
        "/usr/share/fonts/TTF/DejaVuSans-Bold.ttf",
        "/usr/share/fonts/truetype/noto/NotoSansArabic-Bold.ttf",
        "/usr/share/fonts/truetype/noto/NotoSansHebrew-Bold.ttf",
        "/usr/share/fonts/truetype/noto/NotoSansThai-Bold.ttf",
        "/usr/share/fonts/truetype/noto/NotoSansDevanagari-Bold.ttf",
        "/System/Library/Fonts/Supplemental/Arial Unicode.ttf",
    ),
}
_EMOJI = (
    "/usr/share/fonts/truetype/noto/NotoColorEmoji.ttf",
    "/usr/share/fonts/noto/NotoColorEmoji.ttf",
    "/usr/share/fonts/google-noto-emoji/NotoColorEmoji.ttf",
    "/usr/share/fonts/noto-emoji/NotoColorEmoji.ttf",
)


def font_path(bold: bool = False, override: str | Path | None = None) -> Path:
    """The Noto Sans CJK file to draw with; `override` names a file to use instead.

    A missing bold face falls back to the regular one (text stays readable, only lighter).
    """
    if override is not None:
        path = Path(override)
        if not path.is_file():
            raise FontNotFound(f"font file {path} does not exist")
        return path
    found = _find_cjk(bold)
    if found is None and bold:
        found = _find_cjk(False)
        if found is not None:
            logger.warning(
                "Noto Sans CJK Bold not found, using Regular", extra={"font": str(found)}
            )
    if found is None:
        searched = ", ".join(str(d) for d in _CJK_DIRS)
        raise FontNotFound(f"{_INSTALL_HINT}; searched {searched}")
    return found


@lru_cache(maxsize=2)
def _find_cjk(bold: bool) -> Path | None:
    for directory in _CJK_DIRS:
        for name in _CJK_NAMES[bold]:
            path = directory / name
            if path.is_file():
                return path
    return None


@lru_cache(maxsize=2)
def fallback_font_paths(bold: bool = False) -> tuple[Path, ...]:
    """Installed fonts for scripts outside Noto Sans CJK, in the order they are tried."""
    return tuple(Path(p) for p in _FALLBACKS[bold] if Path(p).is_file())


@lru_cache(maxsize=1)
def emoji_font_path() -> Path | None:
    """Noto Color Emoji if installed; without it emoji fall back to the text fonts or are dropped."""
    for p in _EMOJI:
        if Path(p).is_file():
            return Path(p)
    return None
