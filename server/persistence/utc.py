"""Datetimes in and out of the database: stored as UTC, read back timezone-aware.

Imports nothing from this package, so the modules db.py imports to register their tables can use
it too (they cannot import rooms.py, which imports db.py).
"""

from __future__ import annotations

from datetime import UTC, datetime


def aware(value: datetime) -> datetime:
    # SQLite hands back naive datetimes; everything we store is UTC.
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def utc(value: datetime) -> datetime:
    return value.astimezone(UTC)
