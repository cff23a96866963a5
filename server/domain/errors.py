"""The root of every domain error. Transports map these to HTTP statuses / Socket.IO replies."""

from __future__ import annotations


class DomainError(Exception):
    """A request the domain refuses. `code` is stable and machine-readable."""

    code = "domain_error"
    # An ordinary outcome rather than a mistake (the last unit went a moment ago): logged at INFO,
    # so a flash sale's thousand "sold out" answers do not bury the warnings.
    expected = False

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class NotFound(DomainError):
    code = "not_found"


class Conflict(DomainError):
    code = "conflict"


class InvalidInput(DomainError):
    code = "invalid_input"


class Unauthorized(DomainError):
    """No or bad credentials."""

    code = "unauthorized"


class Forbidden(DomainError):
    """Good credentials, but the role may not do this."""

    code = "forbidden"
