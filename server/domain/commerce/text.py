"""Cleaning operator- and buyer-typed text before it is stored: printable, one line, bounded."""

from __future__ import annotations

import unicodedata

from ..errors import InvalidInput


def clean_line(raw: str, *, field: str, max_len: int, min_len: int = 1) -> str:
    """NFC, control and format characters (bidi overrides included) removed, spaces collapsed."""
    text = unicodedata.normalize("NFC", raw)
    # Keep ZWJ/ZWNJ (emoji sequences, Indic scripts); drop the other controls and formats.
    text = "".join(
        ch for ch in text
        if unicodedata.category(ch) not in ("Cc", "Cs", "Co") and
        (unicodedata.category(ch) != "Cf" or ch in "\u200c\u200d")
    )
    text = " ".join(text.split())
    if not min_len <= len(text) <= max_len:
        raise InvalidInput(f"{field} must be {min_len}-{max_len} characters")
    return text
