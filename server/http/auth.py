"""Who is calling: a signed-in user (session cookie), an API token (Bearer), or an anonymous viewer
known only by a signed device cookie. Every route asks `require_role`, or `require_room_role` when
it acts on one room (hosts and moderators hold grants per room); CSRF is checked here too.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field

from aiohttp import web

from ..domain.accounts.grants import Subject, room_role, token_subject, user_subject
from ..domain.accounts.roles import Role, role_allows
from ..domain.accounts.sessions import csrf_token, sign, unsign
from ..domain.accounts.tokens import ApiToken, hash_secret, secret_matches
from ..domain.accounts.users import User
from ..domain.errors import Forbidden, Unauthorized
from ..domain.rooms import Room
from .client_address import forwarded_client
from .keys import ACCOUNTS, GRANTS, SECRET, SETTINGS, TOKENS

logger = logging.getLogger(__name__)

SESSION_COOKIE = "fc_session"
DEVICE_COOKIE = "fc_device"
CSRF_HEADER = "X-CSRF-Token"


@dataclass(frozen=True)
class Caller:
    user: User | None
    api_token: ApiToken | None
    device: str
    ip: str
    session_token: str | None
    # Room id -> host or moderator, for the user (or, without one, the API token).
    grants: Mapping[str, Role] = field(default_factory=dict)

    @property
    def role(self) -> Role:
        """The account's (or token's) own role: global for operators; for hosts and moderators it
        says what they do outside rooms. Inside a room, ask `role_in`."""
        if self.user is not None:
            return self.user.role
        if self.api_token is not None:
            return self.api_token.role
        return Role.VIEWER

    def role_in(self, room_id: str) -> Role:
        return room_role(self.role, self.grants.get(room_id))

    @property
    def subject(self) -> Subject | None:
        """Whose grants and identity version apply: the user, else the API token."""
        if self.user is not None and self.user.id is not None:
            return user_subject(self.user.id)
        if self.api_token is not None and self.api_token.id is not None:
            return token_subject(self.api_token.id)
        return None

    @property
    def signed_in(self) -> bool:
        return self.user is not None

    @property
    def label(self) -> str:
        if self.user is not None:
            return f"user:{self.user.id}"
        if self.api_token is not None:
            return f"token:{self.api_token.label}"
        return f"device:{self.device[:8]}"


def bearer(request: web.Request) -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        return None
    return value.strip()


def client_ip(request: web.Request) -> str:
    """The caller's address: the peer's, or, from a trusted reverse proxy only, the first address
    in X-Forwarded-For that no trusted proxy added (anyone else can write that header)."""
    return forwarded_client(request.remote, request.headers.getall("X-Forwarded-For", []),
                            request.app[SETTINGS].trusted_proxies)


async def resolve_caller(app: web.Application, cookies: dict[str, str], authorization: str | None, ip: str) -> Caller:
    secret = app[SECRET]
    device = unsign(secret, cookies.get(DEVICE_COOKIE, "")) or ""
    user = None
    session_token = None
    signed = cookies.get(SESSION_COOKIE)
    # A request that sends a token is that token's alone: session_middleware skips the CSRF check
    # for any Bearer header, so a session cookie riding along must authenticate nothing.
    if signed and not authorization:
        token = unsign(secret, signed)
        if token is not None:
            user = await app[ACCOUNTS].user_for_session(token)
            session_token = token if user is not None else None
    api_token = None
    if authorization:
        found = await app[TOKENS].find_by_hash(hash_secret(authorization))
        if found is not None and not found.revoked:
            api_token = found
    who = Caller(user, api_token, device, ip, session_token)
    subject = who.subject
    if subject is not None and who.role is not Role.OPERATOR:
        who = Caller(user, api_token, device, ip, session_token, await app[GRANTS].of(subject))
    return who


_CALLER = web.RequestKey("caller", Caller)


async def caller(request: web.Request) -> Caller:
    cached = request.get(_CALLER)
    if cached is None:
        cached = await resolve_caller(request.app, dict(request.cookies), bearer(request), client_ip(request))
        request[_CALLER] = cached
    return cached


async def require_host_of(request: web.Request, room: Room) -> None:
    """A signed-in host (or an API token with that role), or whoever holds this room's stream
    key: the key publishes the room's video, which is more than pinning its products, and it is
    what the studio page and OBS hold."""
    key = bearer(request)
    if key is not None and secret_matches(key, room.stream_key_hash):
        return
    if key is not None and key.startswith("sk_") and (await caller(request)).user is None:
        raise Unauthorized("wrong stream key for this room")
    await require_room_role(request, room.id, Role.HOST)


async def require_role(request: web.Request, role: Role) -> Caller:
    who = await _authenticated(request, role)
    if not role_allows(who.role, role):
        raise Forbidden(f"this needs the {role.value} role")
    return who


async def require_room_role(request: web.Request, room_id: str, role: Role) -> Caller:
    """The caller, if they hold `role` (or more) in this room: operators anywhere, hosts and
    moderators only where a grant says so."""
    who = await _authenticated(request, role)
    held = who.role_in(room_id)
    if not role_allows(held, role):
        logger.warning("refused in room %s: needs %s", room_id, role.value, extra={"room": room_id, "user": who.label})
        raise Forbidden(f"this needs the {role.value} role in room {room_id!r}")
    return who


async def _authenticated(request: web.Request, role: Role) -> Caller:
    who = await caller(request)
    if role is Role.VIEWER:
        return who
    if who.user is None and who.api_token is None:
        if bearer(request) is not None:
            raise Unauthorized("the API token is unknown or revoked")
        raise Unauthorized("sign in first (or send an API token: Authorization: Bearer <token>)")
    return who


async def require_user(request: web.Request) -> tuple[Caller, User]:
    who = await caller(request)
    if who.user is None:
        raise Unauthorized("sign in first")
    return who, who.user


def set_session_cookie(request: web.Request, response: web.StreamResponse, token: str) -> None:
    response.set_cookie(
        SESSION_COOKIE, sign(request.app[SECRET], token), max_age=30 * 86400, httponly=True,
        samesite="Lax", secure=request.app[SETTINGS].secure_cookies, path="/",
    )


def clear_session_cookie(response: web.StreamResponse) -> None:
    response.del_cookie(SESSION_COOKIE, path="/")


def csrf_for(request: web.Request, who: Caller) -> str | None:
    return csrf_token(request.app[SECRET], who.session_token) if who.session_token else None


_UNSAFE = {"POST", "PUT", "PATCH", "DELETE"}
# Signing in acts for nobody yet: these take credentials, not the session cookie.
_NO_CSRF = {"/api/auth/register", "/api/auth/login", "/api/auth/code", "/api/auth/code/verify"}


@web.middleware
async def session_middleware(
    request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
) -> web.StreamResponse:
    """Gives every browser a signed device id, and checks CSRF on cookie-authenticated API writes."""
    if (
        request.method in _UNSAFE
        and request.path.startswith("/api/")
        and request.path not in _NO_CSRF
        and bearer(request) is None
    ):
        who = await caller(request)
        if who.session_token is not None:
            expected = csrf_token(request.app[SECRET], who.session_token)
            sent = request.headers.get(CSRF_HEADER, "")
            if not secrets.compare_digest(sent, expected):
                logger.warning("CSRF check failed on %s", request.path, extra={"user": who.label})
                raise Forbidden("missing or wrong X-CSRF-Token header (read it from GET /api/me)")
    response = await handler(request)
    if DEVICE_COOKIE not in request.cookies and request.path.startswith(("/r/", "/studio/", "/api/", "/mod/", "/invite/")):
        response.set_cookie(
            DEVICE_COOKIE, sign(request.app[SECRET], secrets.token_urlsafe(16)), max_age=365 * 86400,
            httponly=True, samesite="Lax", secure=request.app[SETTINGS].secure_cookies, path="/",
        )
    return response
