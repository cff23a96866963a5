"""Who is calling: operator API tokens (Bearer). Room stream keys are checked by WHIP itself."""

from __future__ import annotations

from aiohttp import web

from ..domain.accounts.roles import Role, role_allows
from ..domain.accounts.tokens import ApiToken, hash_secret
from ..domain.errors import Forbidden, Unauthorized
from .keys import TOKENS


def bearer(request: web.Request) -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        return None
    return value.strip()


async def require_role(request: web.Request, role: Role) -> ApiToken:
    secret = bearer(request)
    if secret is None:
        raise Unauthorized("an API token is required (Authorization: Bearer <token>)")
    token = await request.app[TOKENS].find_by_hash(hash_secret(secret))
    if token is None or token.revoked:
        raise Unauthorized("the API token is unknown or revoked")
    if not role_allows(token.role, role):
        raise Forbidden(f"this needs the {role.value} role")
    return token
