"""Font discovery and glyph coverage."""

from __future__ import annotations

from pathlib import Path

import pytest

from overlay import fonts
from overlay.errors import FontNotFound
from overlay.fonts.cmap import coverage


def test_font_path_finds_noto_sans_cjk_regular_and_bold() -> None:
    regular = fonts.font_path()
    bold = fonts.font_path(bold=True)
    assert regular.name.startswith("NotoSans") and regular.is_file()
    assert "Bold" in bold.name


def test_explicit_override_is_used_and_must_exist(tmp_path: Path) -> None:
    custom = tmp_path / "custom.ttf"
    custom.write_bytes(b"")
    assert fonts.font_path(override=custom) == custom
    with pytest.raises(FontNotFound):
        fonts.font_path(override=tmp_path / "missing.ttf")


def test_missing_cjk_font_error_says_how_to_install_it(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(fonts, "_CJK_DIRS", (tmp_path,))
    fonts._find_cjk.cache_clear()
    try:
        with pytest.raises(FontNotFound, match="apt-get install fonts-noto-cjk"):
            fonts.font_path()
    finally:
        fonts._find_cjk.cache_clear()


def test_cmap_coverage_reads_the_simplified_chinese_face_of_the_collection() -> None:
    covered = coverage(fonts.font_path(), 2)
    assert ord("番") in covered and ord("A") in covered
    assert ord("😀") not in covered and ord("ب") not in covered


def test_emoji_font_covers_emoji() -> None:
    path = fonts.emoji_font_path()
    assert path is not None
    assert ord("🍅") in coverage(path)
