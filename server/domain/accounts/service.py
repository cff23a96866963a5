"""Sign-up, sign-in (password or one-time code), sessions and invites."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from ..errors import Conflict, Forbidden, InvalidInput, NotFound, Unauthorized
from .grants import user_subject
from .identity import Change, IdentityChanges
from .passwords import hash_password, verify_password
from .ports import InviteRepository, LoginCodeRepository, SessionRepository, UserRepository
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
        identity: IdentityChanges | None = None,
    ) -> None:
        self.users = users
        self.sessions = sessions
        self.codes = codes
        self.invites = invites
        self.run_blocking: Blocking = run_blocking or asyncio.to_thread
        self.clock = clock
        # Development: where one-time codes go (the server log). Production plugs an SMS/email sender.
        self.on_code = on_code or (lambda ident, code: None)
        # Told of sign-outs and role changes, so open connections lose what the account lost.
        self.identity = identity

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

    async def login(self, identifier: str, password: str) -> SignedIn:
        try:
            ident = normalise_identifier(identifier)
        except InvalidInput:
            raise Unauthorized("wrong phone/email or password") from None
        user = await self.users.by_identifier(ident)
        # Hash even for an unknown account, so timing does not say which accounts exist.
        stored = user.password_hash if user and user.password_hash else _DUMMY_HASH
        ok = await self.run_blocking(verify_password, stored, password)
        if user is None or not user.password_hash or not ok:
            raise Unauthorized("wrong phone/email or password")
        return await self._open_session(user)

    async def request_code(self, identifier: str) -> None:
        ident = normalise_identifier(identifier)
        code = new_code()
        expires = self.clock() + timedelta(minutes=CODE_MINUTES)
        await self.codes.put(LoginCode(ident, hash_secret(code), expires))
        self.on_code(ident, code)

    async def verify_code(self, identifier: str, code: str) -> SignedIn:
        ident = normalise_identifier(identifier)
        stored = await self.codes.get(ident)
        if stored is None or stored.expires_at < self.clock() or stored.attempts >= CODE_ATTEMPTS:
            raise Unauthorized("the code has expired: ask for a new one")
        if not secret_matches(code.strip(), stored.code_hash):
            await self.codes.bump_attempts(ident)
            raise Unauthorized("wrong code")
        await self.codes.delete(ident)
        user = await self.users.by_identifier(ident)
        if user is None:
            user = await self.users.add(
                User(None, ident, default_nickname(ident), Role.VIEWER, None, self.clock())
            )
        return await self._open_session(user)

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
