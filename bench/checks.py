"""What a benchmark run must show besides its numbers: the figures each module declares as
`POSITIVE` (a path that broke prints 0, nan or nothing) and `ZERO` (losses), read back from the
`name: value` lines it printed. Names may be fnmatch patterns, for figures named after their size.
"""

from __future__ import annotations

import fnmatch
import math
import re

_FIGURE = re.compile(r"^([a-z][a-z0-9_]*): (\S+)")


def figures(lines: list[str]) -> dict[str, str]:
    """`name: value` lines -> {name: value as printed}; `#` lines and anything else are skipped."""
    out: dict[str, str] = {}
    for line in lines:
        m = _FIGURE.match(line)
        if m:
            out[m.group(1)] = m.group(2)
    return out


def _number(text: str) -> float | None:
    try:
        return float(text.removesuffix("x"))  # ratios are printed as `3.1x` in places
    except ValueError:
        return None


def problems(bench: str, printed: dict[str, str], positive: tuple[str, ...], zero: tuple[str, ...] = ()) -> list[str]:
    """One clear sentence per broken expectation, naming the bench and the figure."""
    out = []
    for rule, wanted in ((positive, "positive"), (zero, "zero")):
        for pattern in rule:
            names = fnmatch.filter(printed, pattern)
            if not names:
                out.append(f"bench.{bench}: figure {pattern} was not printed")
            for name in names:
                value = _number(printed[name])
                ok = value is not None and not math.isnan(value) and (value > 0 if wanted == "positive" else value == 0)
                if not ok:
                    out.append(f"bench.{bench}: figure {name} must be {wanted}, printed {printed[name]}")
    return out
