"""Sign-up, sign-in (password or one-time code), sessions and invites."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from ..errors import Conflict, Forbidden, InvalidInput, NotFound, Unauthorized
from .errors import NoLiveCode, WrongCode
from .grants import GrantRepository, user_subject
from .identity import Change, IdentityChanges
from .limits import Limit, MemoryAttemptLimiter, SignInLimits, TooManyAttempts
from .passwords import hash_password, verify_password
from .ports import (
    AttemptLimiter,
    InviteRepository,
    LoginCodeRepository,
    SessionRepository,
    UserRepository,
)
from .roles import Role
from .sessions import (
    CODE_ATTEMPTS,
    CODE_MINUTES,
    INVITE_DAYS,
    SESSION_DAYS,
    Invite,
    LoginCode,
    Session,
    new_code,
)
from .tokens import hash_secret, new_secret, secret_matches
from .users import User, check_password, clean_nickname, default_nickname, normalise_identifier

logger = logging.getLogger(__name__)

Blocking = Callable[..., Awaitable[Any]]


def _utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class SignedIn:
    user: User
    token: str  # the session secret, for the cookie; only its hash is stored


# Staff accounts that have a password must give it: a code proves only the phone/mailbox, and a
# lost or swapped SIM must not hand over a farm's shop.
STAFF_ROLES = frozenset({Role.OPERATOR, Role.HOST, Role.MODERATOR})

# The defaults of server/config.py, for services built without Settings (the CLI, unit tests).
DEFAULT_LIMITS = SignInLimits(
    password_per_identifier=Limit(5, 900, 30, 3600),
    password_per_ip=Limit(20, 900, 30, 3600),
    code_request_per_identifier=Limit(3, 900, 30, 3600),
    code_request_per_ip=Limit(20, 900, 30, 3600),
    code_verify_per_identifier=Limit(10, 900, 30, 3600),
    code_verify_per_ip=Limit(50, 900, 30, 3600),
)


class AccountService:
    def __init__(
        self,
        users: UserRepository,
        sessions: SessionRepository,
        codes: LoginCodeRepository,
        invites: InviteRepository,
        *,
        run_blocking: Blocking | None = None,
        clock: Callable[[], datetime] = _utcnow,
        on_code: Callable[[str, str], None] | None = None,
        limiter: AttemptLimiter | None = None,
        limits: SignInLimits = DEFAULT_LIMITS,
        identity: IdentityChanges | None = None,
        grants: GrantRepository | None = None,
    ) -> None:
        self.users = users
        self.sessions = sessions
        self.codes = codes
        self.invites = invites
        self.limiter: AttemptLimiter = limiter or MemoryAttemptLimiter()
        self.limits = limits
        self.run_blocking: Blocking = run_blocking or asyncio.to_thread
        self.clock = clock
        # Development: where one-time codes go (the server log). Production plugs an SMS/email sender.
        self.on_code = on_code or (lambda ident, code: None)
        # Told of sign-outs and role changes, so open connections lose what the account lost.
        self.identity = identity
        # Room grants make an account staff too (a buyer appointed moderator of one room).
        self.grants = grants

    # -- accounts -------------------------------------------------------------------------------

    async def register(
        self, identifier: str, password: str, nickname: str = "", role: Role = Role.VIEWER
    ) -> User:
        ident = normalise_identifier(identifier)
        check_password(password)
        nick = clean_nickname(nickname) if nickname.strip() else default_nickname(ident)
        if await self.users.by_identifier(ident) is not None:
            raise Conflict("an account with this phone or email already exists")
        password_hash = await self.run_blocking(hash_password, password)
        return await self.users.add(User(None, ident, nick, role, password_hash, self.clock()))

    async def sign_up(self, identifier: str, password: str, nickname: str = "") -> None:
        """Self-service sign-up that says nothing about who already has an account: the same
        answer (and about the same time: one password hash) whether the identifier is new or taken.
        The new account is signed into with the password, like any other."""
        ident = normalise_identifier(identifier)
        check_password(password)
        nick = clean_nickname(nickname) if nickname.strip() else default_nickname(ident)
        password_hash = await self.run_blocking(hash_password, password)
        if await self.users.by_identifier(ident) is not None:
            logger.info("sign-up for an existing account ignored")
            return
        try:
            await self.users.add(User(None, ident, nick, Role.VIEWER, password_hash, self.clock()))
        except Conflict:
            pass  # taken a moment ago by a concurrent sign-up: the same answer

    async def update_profile(self, user: User, *, nickname: str | None, community: str | None) -> User:
        if nickname is not None:
            user = replace(user, nickname=clean_nickname(nickname))
        if community is not None:
            community = " ".join(community.split())
            if len(community) > 40:
                raise InvalidInput("community must be at most 40 characters")
            user = replace(user, community=community)
        await self.users.save(user)
        return user

    async def set_role(self, user: User, role: Role) -> User:
        changed = user.role is not role
        user = replace(user, role=role)
        await self.users.save(user)
        if changed and self.identity is not None and user.id is not None:
            await self.identity.changed(user_subject(user.id), Change.ROLE_CHANGED)
        return user

    # -- signing in -----------------------------------------------------------------------------

    async def _guard(self, what: str, checks: list[tuple[str, Limit]]) -> None:
        for key, limit in checks:
            wait = await self.limiter.take(key, limit)
            if wait > 0:
                logger.warning("too many %s (%s): %.0f s to wait", what, key.split(":", 2)[1], wait)
                raise TooManyAttempts(what, wait)

    def _checks(self, kind: str, ident: str, ip: str | None, per_id: Limit, per_ip: Limit) -> list[tuple[str, Limit]]:
        # The address first: a spray over many accounts from one address stops there.
        checks = [(f"{kind}:ip:{ip}", per_ip)] if ip is not None else []
        return checks + [(f"{kind}:id:{ident}", per_id)]

    async def _succeeded(self, kind: str, ident: str, ip: str | None) -> None:
        await self.limiter.clear(f"{kind}:id:{ident}")
        if ip is not None:
            await self.limiter.give_back(f"{kind}:ip:{ip}")

    async def login(self, identifier: str, password: str, *, ip: str | None = None) -> SignedIn:
        try:
            ident = normalise_identifier(identifier)
        except InvalidInput:
            raise Unauthorized("wrong phone/email or password") from None
        limits = self.limits
        await self._guard("sign-in attempts", self._checks(
            "pw", ident, ip, limits.password_per_identifier, limits.password_per_ip))
        user = await self.users.by_identifier(ident)
        # Hash even for an unknown account, so timing does not say which accounts exist.
        stored = user.password_hash if user and user.password_hash else _DUMMY_HASH
        ok = await self.run_blocking(verify_password, stored, password)
        if user is None or not user.password_hash or not ok:
            raise Unauthorized("wrong phone/email or password")
        await self._succeeded("pw", ident, ip)
        return await self._open_session(user)

    async def request_code(self, identifier: str, *, ip: str | None = None) -> None:
        ident = normalise_identifier(identifier)
        limits = self.limits
        # Each new code brings fresh tries, so new codes are capped too.
        await self._guard("sign-in codes asked for", self._checks(
            "code", ident, ip, limits.code_request_per_identifier, limits.code_request_per_ip))
        code = new_code()
        expires = self.clock() + timedelta(minutes=CODE_MINUTES)
        await self.codes.put(LoginCode(ident, hash_secret(code), expires))
        self.on_code(ident, code)

    async def verify_code(self, identifier: str, code: str, *, ip: str | None = None) -> SignedIn:
        ident = normalise_identifier(identifier)
        limits = self.limits
        # Across codes: the identifier locks (with a growing wait) after this many wrong guesses.
        await self._guard("wrong codes", self._checks(
            "guess", ident, ip, limits.code_verify_per_identifier, limits.code_verify_per_ip))
        # Within a code: the try is taken before the comparison, in one step.
        code_hash = await self.codes.take_try(ident, self.clock(), CODE_ATTEMPTS)
        if code_hash is None:
            raise NoLiveCode("the code has expired or had too many wrong tries: ask for a new one")
        if not secret_matches(code.strip(), code_hash):
            raise WrongCode("wrong code")
        if not await self.codes.use(ident, code_hash):
            raise NoLiveCode("the code has already been used: ask for a new one")
        user = await self.users.by_identifier(ident)
        if user is not None and user.password_hash and await self._is_staff(user):
            logger.warning("code sign-in refused for a staff account (%s)", user.role.value, extra={"user": user.id})
            raise Forbidden("this account signs in with its password, not with a code alone")
        await self._succeeded("guess", ident, ip)
        if user is None:
            try:
                user = await self.users.add(
                    User(None, ident, default_nickname(ident), Role.VIEWER, None, self.clock())
                )
            except Conflict:  # made a moment ago by a concurrent sign-up
                user = await self.users.by_identifier(ident)
                if user is None:
                    raise
        return await self._open_session(user)

    async def _is_staff(self, user: User) -> bool:
        if user.role in STAFF_ROLES:
            return True
        return (
            self.grants is not None and user.id is not None
            and bool(await self.grants.for_subject(user_subject(user.id)))
        )

    async def _open_session(self, user: User) -> SignedIn:
        assert user.id is not None
        token = new_secret("ss")
        now = self.clock()
        await self.sessions.add(
            Session(None, hash_secret(token), user.id, now, now + timedelta(days=SESSION_DAYS))
        )
        return SignedIn(user, token)

    async def user_for_session(self, token: str) -> User | None:
        session = await self.sessions.by_hash(hash_secret(token))
        if session is None or session.revoked or session.expires_at < self.clock():
            return None
        return await self.users.get(session.user_id)

    async def logout(self, token: str) -> None:
        session = await self.sessions.by_hash(hash_secret(token))
        if session is not None and session.id is not None:
            await self.sessions.revoke(session.id)
            if self.identity is not None:
                await self.identity.changed(
                    user_subject(session.user_id), Change.SIGNED_OUT, session_hash=session.token_hash
                )

    # -- invites --------------------------------------------------------------------------------

    async def invite(self, by: User, role: Role) -> tuple[Invite, str]:
        if by.role is not Role.OPERATOR:
            raise Forbidden("only operators invite")
        if role is Role.VIEWER:
            raise InvalidInput("viewers need no invite")
        token = new_secret("inv")
        now = self.clock()
        invite = await self.invites.add(
            Invite(None, hash_secret(token), role, by.id, now, now + timedelta(days=INVITE_DAYS))
        )
        return invite, token

    async def accept_invite(self, user: User, token: str) -> User:
        invite = await self.invites.by_hash(hash_secret(token))
        if invite is None or invite.revoked:
            raise NotFound("this invite link is not valid")
        if invite.expires_at < self.clock():
            raise Conflict("this invite link has expired: ask for a new one")
        assert invite.id is not None and user.id is not None
        if not await self.invites.claim(invite.id, user.id):
            raise Conflict("this invite link has already been used")
        if user.role is Role.OPERATOR:
            return user  # never demote an operator by accident
        return await self.set_role(user, invite.role)


_DUMMY_HASH = hash_password("not-a-real-password-0")
