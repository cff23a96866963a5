"""Sign-in sessions, one-time codes and invites: the records behind cookies and links."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime

from .roles import Role

SESSION_DAYS = 30
CODE_MINUTES = 10
CODE_ATTEMPTS = 5
INVITE_DAYS = 7


@dataclass(frozen=True)
class Session:
    id: int | None
    token_hash: str
    user_id: int
    created_at: datetime
    expires_at: datetime
    revoked: bool = False


@dataclass(frozen=True)
class LoginCode:
    identifier: str
    code_hash: str
    expires_at: datetime
    attempts: int = 0


@dataclass(frozen=True)
class Invite:
    id: int | None
    token_hash: str
    role: Role
    created_by: int | None
    created_at: datetime
    expires_at: datetime
    used_by: int | None = None
    revoked: bool = False


def new_code() -> str:
    return f"{secrets.randbelow(1_000_000):06d}"


def sign(secret: bytes, value: str) -> str:
    """`value.signature`: what goes into a cookie; the signature stops forged or edited values."""
    mac = hmac.new(secret, value.encode(), hashlib.sha256).hexdigest()[:32]
    return f"{value}.{mac}"


def unsign(secret: bytes, signed: str) -> str | None:
    value, _, mac = signed.rpartition(".")
    if not value or not hmac.compare_digest(sign(secret, value), signed):
        return None
    return value


def csrf_token(secret: bytes, session_token: str) -> str:
    """Bound to the session: a page must read it from /api/me (same origin) to send it back."""
    return hmac.new(secret, b"csrf:" + session_token.encode(), hashlib.sha256).hexdigest()
