"""The root of every error the overlay package raises, so callers can catch one type."""

from __future__ import annotations


class OverlayError(Exception):
    """Something in the overlay package failed."""


class FontNotFound(OverlayError, FileNotFoundError):
    """No usable font file was found where it was looked for."""
