"""Blocked-word matching for chat: one compiled pattern per word list, hard to dodge, few false hits.

Both the words and the message are NFKC-folded and case-folded (full-width ｖｘ is vx, Ｗｅｉｘｉｎ
is weixin). Up to three separators may sit between a word's characters, so 加 微 信 and v.x still
match. A word that starts or ends with a Latin letter only matches where that end is not glued to
another letter, so "vx" does not fire inside "novx" and "ass" not inside "class"; Chinese has
no word breaks, so Chinese words match anywhere. Digits do not count as glue: "vx123456" is the very
thing a "vx" rule is for.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable

from ..errors import InvalidInput

MAX_WORDS = 500
MAX_WORD_CHARS = 40
_SEPARATORS = r"[\W_]{0,3}"
_LATIN = re.compile(r"[a-z]")


def fold(text: str) -> str:
    return unicodedata.normalize("NFKC", text).casefold()


def clean_words(raw: Iterable[str]) -> tuple[str, ...]:
    """A word list as stored: trimmed, no blanks or repeats (by folded form), within the limits."""
    seen: set[str] = set()
    words: list[str] = []
    for word in raw:
        word = " ".join(unicodedata.normalize("NFC", word).split())
        if not word:
            continue
        if len(word) > MAX_WORD_CHARS:
            raise InvalidInput(f"a blocked word is at most {MAX_WORD_CHARS} characters")
        key = "".join(fold(word).split())
        if key in seen:
            continue
        seen.add(key)
        words.append(word)
    if len(words) > MAX_WORDS:
        raise InvalidInput(f"at most {MAX_WORDS} blocked words per list")
    return tuple(words)


def _pattern(word: str) -> str | None:
    folded = "".join(fold(word).split())
    if not folded:
        return None
    body = _SEPARATORS.join(re.escape(ch) for ch in folded)
    if _LATIN.fullmatch(folded[0]):
        body = r"(?<![a-z])" + body
    if _LATIN.fullmatch(folded[-1]):
        body = body + r"(?![a-z])"
    return body


class KeywordFilter:
    """`find(text)` returns the first blocked word the text contains (as the list spells it)."""

    def __init__(self, words: Iterable[str]) -> None:
        self.words: tuple[str, ...] = tuple(dict.fromkeys(w for w in words if w.strip()))
        parts: list[str] = []
        self._by_group: list[str] = []
        for word in self.words:
            pattern = _pattern(word)
            if pattern is not None:
                parts.append(f"({pattern})")
                self._by_group.append(word)
        self._regex = re.compile("|".join(parts)) if parts else None

    def __bool__(self) -> bool:
        return self._regex is not None

    def find(self, text: str) -> str | None:
        if self._regex is None:
            return None
        match = self._regex.search(fold(text))
        if match is None or match.lastindex is None:
            return None
        return self._by_group[match.lastindex - 1]
