"""Money is integer fen (1/100 yuan) everywhere; this formats it for people."""

from __future__ import annotations


def yuan(fen: int) -> str:
    """12.80 yuan as "¥12.8", whole yuan without decimals: "¥10"; negative as "-¥5"."""
    sign = "-" if fen < 0 else ""
    whole, cents = divmod(abs(int(fen)), 100)
    if cents == 0:
        return f"{sign}¥{whole}"
    text = f"{whole}.{cents:02d}".rstrip("0")
    return f"{sign}¥{text}"
