"""Chat text: plain printable text on one line, emoji and every script kept, tricks dropped."""

from __future__ import annotations

import pytest

from server.domain.voice.chat import clean_text
from server.domain.voice.errors import EmptyMessage, MessageTooLong


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("  番茄  好吃 ", "番茄 好吃"),
        ("a\nb\r\nc\td", "a b c d"),
        ("<b>bold</b> & 'quotes'", "<b>bold</b> & 'quotes'"),
        ("👨‍👩‍👧‍👦", "👨‍👩‍👧‍👦"),  # zero-width joiners stay: they make the family one emoji
        ("🏴󠁧󠁢󠁳󠁣󠁴󠁿", "🏴󠁧󠁢󠁳󠁣󠁴󠁿"),  # tag characters stay: Scotland's flag
        ("مرحبا", "مرحبا"),
        ("abc\u202edef\u2066x\u2069", "abcdefx"),  # bidi overrides and isolates go
        ("微\u200b信\ufeff", "微信"),
        ("e\u0301", "\u00e9"),  # NFC
        ("a\ud800b", "ab"),  # a lone surrogate (valid JSON, not valid UTF-8)
    ],
)
def test_cleans_text_to_what_people_see(raw: str, clean: str) -> None:
    assert clean_text(raw) == clean


def test_stacked_combining_marks_are_cut_at_four() -> None:
    # NFC folds the first mark into à; four of the rest stay.
    assert clean_text("a" + "\u0300" * 30 + "b") == "\u00e0" + "\u0300" * 4 + "b"


def test_empty_and_too_long_are_refused_with_their_own_codes() -> None:
    with pytest.raises(EmptyMessage):
        clean_text(" \u200b\n ")
    assert clean_text("番" * 200) == "番" * 200
    with pytest.raises(MessageTooLong) as too_long:
        clean_text("番" * 201)
    assert too_long.value.code == "message_too_long"
