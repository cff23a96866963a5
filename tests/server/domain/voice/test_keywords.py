"""Blocked words: folded, separator-tolerant, and no hits inside longer Latin words."""

from __future__ import annotations

import pytest

from server.domain.errors import InvalidInput
from server.domain.voice.keywords import KeywordFilter, clean_words


@pytest.mark.parametrize(
    ("text", "found"),
    [
        ("加我微信", "微信"),
        ("加 微 信", "微信"),
        ("微.信", "微信"),
        ("微——信号", "微信"),
        ("ＶＸ１２３", "vx"),
        ("VX: 123", "vx"),
        ("v x", "vx"),
        ("加vx", "vx"),
        ("vx", "vx"),
        ("TELEGRAM me", "Telegram"),
        ("vx13800138000", "vx"),
    ],
)
def test_finds_blocked_words_however_they_are_spelled(text: str, found: str) -> None:
    assert KeywordFilter(["微信", "vx", "Telegram"]).find(text) == found


@pytest.mark.parametrize("text", ["novx", "vxa", "class act", "微   博", "微一二三四信", "番茄好吃"])
def test_does_not_fire_inside_other_words_or_across_long_gaps(text: str) -> None:
    assert KeywordFilter(["vx", "ass", "微信"]).find(text) is None


def test_an_empty_filter_finds_nothing_and_is_falsy() -> None:
    empty = KeywordFilter(["", "  "])
    assert not empty and empty.find("anything at all") is None


def test_word_lists_are_trimmed_deduplicated_and_bounded() -> None:
    assert clean_words([" 微信 ", "微信", "ＶＸ", "vx", "", "私  聊"]) == ("微信", "ＶＸ", "私 聊")
    with pytest.raises(InvalidInput):
        clean_words(["x" * 41])
    with pytest.raises(InvalidInput):
        clean_words([f"w{i}" for i in range(501)])
