"""Users: who signs in, by phone or email; their nickname, community and role live on the account."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import datetime

from ..errors import InvalidInput
from .roles import Role

_EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]+\.[^@\s]{2,}$")
_CN_MOBILE = re.compile(r"^1[3-9]\d{9}$")
_E164 = re.compile(r"^\+[1-9]\d{6,14}$")


@dataclass(frozen=True)
class User:
    id: int | None
    identifier: str  # a normalised phone number (+86...) or email address
    nickname: str
    role: Role
    password_hash: str | None
    created_at: datetime
    community: str = ""
    community_id: int | None = None  # the community (小区) the user buys with


def normalise_identifier(raw: str) -> str:
    """A phone number (mainland mobile or E.164) or an email address, in one canonical form."""
    value = raw.strip()
    digits = re.sub(r"[\s\-()]", "", value)
    if _CN_MOBILE.match(digits):
        return "+86" + digits
    if digits.startswith("+86") and _CN_MOBILE.match(digits[3:]):
        return digits
    if _E164.match(digits):
        return digits
    if _EMAIL.match(value) and len(value) <= 254:
        return value.lower()
    raise InvalidInput("enter a mobile number or an email address")


def clean_nickname(raw: str) -> str:
    """Printable, trimmed, 1-24 characters; user text is always handled as text, never markup."""
    text = "".join(ch for ch in unicodedata.normalize("NFC", raw) if unicodedata.category(ch)[0] != "C")
    text = " ".join(text.split())
    if not 1 <= len(text) <= 24:
        raise InvalidInput("nickname must be 1-24 characters")
    return text


def default_nickname(identifier: str) -> str:
    if identifier.startswith("+"):
        return f"用户{identifier[-4:]}"
    return identifier.split("@", 1)[0][:24]


def check_password(password: str) -> None:
    if not 8 <= len(password) <= 128:
        raise InvalidInput("password must be 8-128 characters")
