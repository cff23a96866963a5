"""Text layout: wrapping and ellipsis that never exceed the box, for hostile and mixed-script input."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from overlay.fonts import emoji_font_path, fallback_font_paths, font_path
from overlay.fonts.cmap import coverage
from overlay.text import ELLIPSIS, clean, face, graphemes

WHITE = (255, 255, 255, 255)

LONG_CHINESE = "高山有机番茄现摘现发，" * 40
EMOJI = "🍅🍅 新鲜到货 👨‍👩‍👧 全家都爱吃 🇨🇳 ❤️ 点赞👍🏽 ✅ #1️⃣ " * 3
ARABIC = "طماطم عضوية طازجة من المزرعة مباشرة إلى بابك 123 " * 4
HEBREW = "עגבניות אורגניות טריות מהחווה ישר אליכם " * 4
HOSTILE = "<script>alert(1)</script>" * 8
ZALGO = "Z̴̡̢͈͉͚͓̫̰̭̬͇̓̾̓͑̈́̽̈͑͒͋̒̂͠ả̷̛̜̘̱̍l̷̨̛͓̜̀g̸̢̛͔̪̋o̷̧̩̭͂"
CASES = [
    LONG_CHINESE,
    EMOJI,
    ARABIC,
    HEBREW,
    HOSTILE,
    ZALGO,
    "a" * 600,
    "\u202eevil\u202c\x00\x07 ok",
]


def ink_box(image: Image.Image) -> tuple[int, int, int, int] | None:
    return image.getchannel("A").getbbox()


@pytest.mark.parametrize(
    "text",
    CASES,
    ids=["chinese", "emoji", "arabic", "hebrew", "script", "zalgo", "long-word", "controls"],
)
@pytest.mark.parametrize("size, max_width, max_lines", [(40, 600, 2), (26, 300, 3)])
def test_wrapped_lines_fit_the_box_and_their_ink_stays_inside_it(
    text: str, size: int, max_width: int, max_lines: int
) -> None:
    f = face(size, bold=True)
    lines = f.wrap(text, max_width, max_lines)
    assert 1 <= len(lines) <= max_lines
    for line in lines:
        assert f.measure(line) <= max_width
        image = f.render(line, WHITE)
        assert image.width <= max_width and image.height == f.line_height
        box = ink_box(image)
        assert box is not None  # something visible was drawn
        # Ink does not touch the top or bottom edge: nothing was cut off vertically.
        assert box[1] > 0 and box[3] < image.height


def test_long_chinese_breaks_anywhere_and_ends_with_an_ellipsis() -> None:
    f = face(40, bold=True)
    lines = f.wrap(LONG_CHINESE, 600, 2)
    assert len(lines) == 2
    assert lines[-1].endswith(ELLIPSIS)
    assert f.measure(lines[0]) > 560  # filled, not broken early at a word boundary


def test_chinese_closing_punctuation_never_starts_a_line() -> None:
    f = face(40)
    text = "番茄番茄番茄番茄番茄番茄，番茄番茄。番茄！番茄番茄番茄番茄番茄番茄番茄，番茄"
    for width in range(200, 700, 37):
        for line in f.wrap(text, width, 10):
            assert line[0] not in "，。！"


def test_latin_breaks_at_spaces_not_inside_words() -> None:
    f = face(30)
    words = [
        "Fresh",
        "organic",
        "tomatoes",
        "picked",
        "this",
        "morning",
        "and",
        "shipped",
        "cold",
        "tonight",
    ]
    lines = f.wrap(" ".join(words), 260, 10)
    assert " ".join(lines).split() == words
    assert len(lines) > 1


def test_a_word_longer_than_the_line_is_split() -> None:
    f = face(30)
    lines = f.wrap("https://example.com/" + "x" * 80, 300, 3)
    assert len(lines) == 3 and all(f.measure(line) <= 300 for line in lines)


def test_ellipsize_keeps_short_text_and_cuts_long_text_to_fit() -> None:
    f = face(30)
    assert f.ellipsize("青禾农场", 500) == "青禾农场"
    cut = f.ellipsize("青禾农场高山有机番茄现摘现发", 200)
    assert cut.endswith(ELLIPSIS) and f.measure(cut) <= 200
    assert f.ellipsize("青禾农场", 5) == ""


def test_emoji_are_drawn_in_colour() -> None:
    f = face(40)
    rgba = np.asarray(f.render("🍅", WHITE))
    opaque = rgba[rgba[..., 3] > 200]
    assert len(opaque) > 100
    assert (opaque[:, 0].astype(int) - opaque[:, 1]).max() > 100  # red tomato, not white text


def test_arabic_and_hebrew_are_drawn_with_a_fallback_font_not_dropped() -> None:
    f = face(40)
    for word in ("مرحبا", "שלום"):
        assert f.measure(word) > 60
        assert ink_box(f.render(word, WHITE)) is not None


def test_characters_no_font_has_are_dropped_not_drawn_as_boxes() -> None:
    paths = [font_path(), font_path(bold=True), *fallback_font_paths(), emoji_font_path()]
    covers = [coverage(p, 2 if p.suffix == ".ttc" else 0) for p in paths if p is not None]
    candidates = "ꦲꦤꦕꦫꦏ𓀀ትግርኛதமிழ்ᐊᐃᐅ"
    missing = [ch for ch in candidates if not any(ord(ch) in c for c in covers)]
    assert missing, "every candidate script is installed; pick another"
    f = face(40)
    assert f.measure("".join(missing)) == 0
    assert f.measure("番茄" + "".join(missing)) == f.measure("番茄")
    assert ink_box(f.render("".join(missing), WHITE)) is None


def test_clean_removes_controls_bidi_overrides_and_excess_marks_but_keeps_the_script_tag_text() -> (
    None
):
    assert clean("a\tb\n\nc\x00\x1b[31m") == "a b c[31m"
    assert clean("\u202eevil\u202c") == "evil"
    assert clean("<script>alert(1)</script>") == "<script>alert(1)</script>"
    assert len(clean(ZALGO)) <= 5 * 3
    assert len(clean("x" * 10_000)) == 400


def test_graphemes_keep_emoji_sequences_and_flags_together() -> None:
    assert graphemes("👨‍👩‍👧🇨🇳👍🏽e\u0301") == ["👨‍👩‍👧", "🇨🇳", "👍🏽", "e\u0301"]


def test_ellipsis_never_follows_a_comma_or_space() -> None:
    f = face(30)
    for width in range(150, 400, 11):
        for line in f.wrap("番茄番茄，番茄 番茄，" * 20, width, 2):
            assert not line.endswith(("，…", " …"))


def test_ellipsis_ending_an_english_phrase_in_an_arabic_line_sits_at_the_far_left() -> None:
    f = face(30)
    text = "طماطم Tomatoes" + "…"
    runs = [run.text for run in f._layout(text).runs]
    assert runs[0] == "…" and runs[-1] == "طماطم "
