"""Which code points a font file has glyphs for, read from its OpenType `cmap` table.

Pillow cannot tell whether a font has a glyph (it draws .notdef boxes instead), and the text
renderer needs that to pick a fallback font per character.
"""

from __future__ import annotations

import struct
from bisect import bisect_right
from functools import lru_cache
from pathlib import Path

from overlay.errors import OverlayError


class Coverage:
    """A set of code points stored as sorted inclusive ranges."""

    __slots__ = ("_ends", "_starts")

    def __init__(self, ranges: list[tuple[int, int]]) -> None:
        merged: list[tuple[int, int]] = []
        for start, end in sorted(ranges):
            if merged and start <= merged[-1][1] + 1:
                merged[-1] = (merged[-1][0], max(merged[-1][1], end))
            else:
                merged.append((start, end))
        self._starts = [s for s, _ in merged]
        self._ends = [e for _, e in merged]

    def __contains__(self, codepoint: object) -> bool:
        if not isinstance(codepoint, int):
            return False
        i = bisect_right(self._starts, codepoint) - 1
        return i >= 0 and codepoint <= self._ends[i]


@lru_cache(maxsize=16)
def coverage(path: Path, index: int = 0) -> Coverage:
    """Code points mapped by face `index` of the font (or collection) at `path`."""
    try:
        return Coverage(_read_cmap(_cmap_table(path, index)))
    except (struct.error, IndexError, ValueError) as exc:
        raise OverlayError(f"cannot read the cmap of {path} (face {index}): {exc}") from exc


def _cmap_table(path: Path, index: int) -> bytes:
    """Only the cmap table is read: a CJK collection is ~20 MB, almost all glyph outlines."""
    with path.open("rb") as f:
        head = f.read(12)
        base = 0
        if head[:4] == b"ttcf":
            (count,) = struct.unpack_from(">I", head, 8)
            if not 0 <= index < count:
                raise ValueError(f"the collection has {count} faces")
            f.seek(12 + 4 * index)
            (base,) = struct.unpack(">I", f.read(4))
        f.seek(base)
        directory = f.read(12)
        (tables,) = struct.unpack_from(">H", directory, 4)
        records = f.read(16 * tables)
        for t in range(tables):
            tag, _, offset, length = struct.unpack_from(">4sIII", records, 16 * t)
            if tag == b"cmap":
                f.seek(offset)
                return f.read(length)
    raise ValueError("no cmap table")


def _read_cmap(table: bytes) -> list[tuple[int, int]]:
    (subtables,) = struct.unpack_from(">H", table, 2)
    best: tuple[int, int] | None = None  # (preference, offset)
    for s in range(subtables):
        platform, encoding, offset = struct.unpack_from(">HHI", table, 4 + 8 * s)
        (fmt,) = struct.unpack_from(">H", table, offset)
        # Prefer the full-repertoire format 12 over the BMP-only format 4.
        unicode = platform == 0 or (platform == 3 and encoding in (1, 10))
        if unicode and fmt in (4, 12):
            preference = 2 if fmt == 12 else 1
            if best is None or preference > best[0]:
                best = (preference, offset)
    if best is None:
        raise ValueError("no Unicode cmap subtable")
    start = best[1]
    (fmt,) = struct.unpack_from(">H", table, start)
    return _format12(table, start) if fmt == 12 else _format4(table, start)


def _format12(data: bytes, start: int) -> list[tuple[int, int]]:
    (groups,) = struct.unpack_from(">I", data, start + 12)
    out = []
    for g in range(groups):
        first, last, _ = struct.unpack_from(">III", data, start + 16 + 12 * g)
        out.append((first, last))
    return out


def _format4(data: bytes, start: int) -> list[tuple[int, int]]:
    (seg_x2,) = struct.unpack_from(">H", data, start + 6)
    segs = seg_x2 // 2
    ends = struct.unpack_from(f">{segs}H", data, start + 14)
    starts = struct.unpack_from(f">{segs}H", data, start + 16 + seg_x2)
    # 0xFFFF closes every format-4 table and maps to no glyph.
    return [(s, e) for s, e in zip(starts, ends) if s != 0xFFFF]
