"""Secret tokens (stream keys, API tokens, invite links): random, shown once, stored hashed.

They carry 192 bits of entropy, so a plain SHA-256 is the right hash: a slow password hash buys
nothing against guessing and would cost a hash per request.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime

from .roles import Role


def new_secret(prefix: str) -> str:
    return f"{prefix}_{secrets.token_urlsafe(24)}"


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def secret_matches(secret: str, stored_hash: str) -> bool:
    return hmac.compare_digest(hash_secret(secret), stored_hash)


@dataclass(frozen=True)
class ApiToken:
    """A bearer token for the HTTP API, held by a role."""

    id: int | None
    label: str
    role: Role
    token_hash: str
    created_at: datetime
    revoked: bool = False
