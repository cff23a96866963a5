"""Errors of the media plane; the HTTP layer maps each to a status in one place."""

from __future__ import annotations


class StreamError(Exception):
    code = "stream_error"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class BadOffer(StreamError):
    """The SDP offer is malformed or has nothing we can use."""

    code = "bad_offer"


class PublisherBusy(StreamError):
    """Someone is already publishing into the room."""

    code = "publisher_busy"


class UnknownSession(StreamError):
    code = "unknown_session"


class UnsupportedPatch(StreamError):
    """A PATCH asks for something we do not do (an ICE restart)."""

    code = "unsupported_patch"


class TooManySessions(StreamError):
    """A client or a room has as many WHEP sessions as it may; try again after retry_after."""

    code = "too_many_sessions"

    def __init__(self, message: str, retry_after: float) -> None:
        super().__init__(message)
        self.retry_after = retry_after
