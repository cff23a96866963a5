"""Users, sessions, one-time codes, invites and server secrets in SQL."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import delete, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select

from ..domain.accounts.roles import Role
from ..domain.accounts.sessions import Invite, LoginCode, Session
from ..domain.accounts.users import User
from ..domain.errors import Conflict
from .db import Database
from .rooms import _aware
from .tables import InviteRow, LoginCodeRow, ServerSecretRow, SessionRow, UserRow


def _user(row: UserRow) -> User:
    return User(
        id=row.id,
        identifier=row.identifier,
        nickname=row.nickname,
        role=Role(row.role),
        password_hash=row.password_hash,
        created_at=_aware(row.created_at),
        community=row.community,
        community_id=row.community_id,
    )


class SqlUserRepository:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def get(self, user_id: int) -> User | None:
        async with self.db.session() as s:
            row = await s.get(UserRow, user_id)
            return _user(row) if row else None

    async def by_identifier(self, identifier: str) -> User | None:
        async with self.db.session() as s:
            row = (await s.execute(select(UserRow).where(col(UserRow.identifier) == identifier))).scalars().first()
            return _user(row) if row else None

    async def add(self, user: User) -> User:
        row = UserRow(
            identifier=user.identifier,
            nickname=user.nickname,
            role=user.role.value,
            password_hash=user.password_hash,
            community=user.community,
            community_id=user.community_id,
            created_at=user.created_at.astimezone(UTC),
        )
        async with self.db.session() as s:
            s.add(row)
            try:
                await s.commit()
            except IntegrityError as exc:
                raise Conflict("an account with this phone or email already exists") from exc
            await s.refresh(row)
            return _user(row)

    async def save(self, user: User) -> None:
        async with self.db.session() as s:
            row = await s.get(UserRow, user.id)
            if row is None:
                return
            row.nickname = user.nickname
            row.role = user.role.value
            row.community = user.community
            row.community_id = user.community_id
            row.password_hash = user.password_hash
            s.add(row)
            await s.commit()


def _session(row: SessionRow) -> Session:
    assert row.id is not None
    return Session(row.id, row.token_hash, row.user_id, _aware(row.created_at), _aware(row.expires_at), row.revoked)


class SqlSessionRepository:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def add(self, session: Session) -> Session:
        row = SessionRow(
            token_hash=session.token_hash,
            user_id=session.user_id,
            created_at=session.created_at,
            expires_at=session.expires_at,
        )
        async with self.db.session() as s:
            s.add(row)
            await s.commit()
            await s.refresh(row)
            return _session(row)

    async def by_hash(self, token_hash: str) -> Session | None:
        async with self.db.session() as s:
            row = (await s.execute(select(SessionRow).where(col(SessionRow.token_hash) == token_hash))).scalars().first()
            return _session(row) if row else None

    async def revoke(self, session_id: int) -> None:
        async with self.db.session() as s:
            await s.execute(update(SessionRow).where(col(SessionRow.id) == session_id).values(revoked=True))
            await s.commit()

    async def revoke_user(self, user_id: int) -> None:
        async with self.db.session() as s:
            await s.execute(update(SessionRow).where(col(SessionRow.user_id) == user_id).values(revoked=True))
            await s.commit()


class SqlLoginCodeRepository:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def put(self, code: LoginCode) -> None:
        # One upsert: two codes asked for at once both land (the later replaces the earlier)
        # instead of the second insert failing on the primary key.
        values = {"code_hash": code.code_hash, "expires_at": code.expires_at.astimezone(UTC), "attempts": 0}
        insert: Any = sqlite.insert if self.db.is_sqlite else postgresql.insert
        stmt = insert(LoginCodeRow).values(identifier=code.identifier, **values)
        stmt = stmt.on_conflict_do_update(index_elements=["identifier"], set_=values)
        async with self.db.session() as s:
            await s.execute(stmt)
            await s.commit()

    async def take_try(self, identifier: str, now: datetime, max_tries: int) -> str | None:
        """One guess's try, taken before the guess is compared: the code's hash, or None when the
        identifier has no live code with tries left. A single conditional UPDATE ... RETURNING
        (SQLite >= 3.35, PostgreSQL), so concurrent guesses cannot share a try."""
        async with self.db.session() as s:
            result = await s.execute(
                update(LoginCodeRow)
                .where(
                    col(LoginCodeRow.identifier) == identifier,
                    col(LoginCodeRow.attempts) < max_tries,
                    col(LoginCodeRow.expires_at) > now.astimezone(UTC),
                )
                .values(attempts=col(LoginCodeRow.attempts) + 1)
                .returning(col(LoginCodeRow.code_hash))
            )
            code_hash = result.scalar_one_or_none()
            await s.commit()
            return code_hash

    async def use(self, identifier: str, code_hash: str) -> bool:
        """Deletes the code if it is still this one: True for exactly one of two concurrent right
        guesses, False once a new code replaced it or another request used it."""
        async with self.db.session() as s:
            result = await s.execute(
                delete(LoginCodeRow).where(
                    col(LoginCodeRow.identifier) == identifier, col(LoginCodeRow.code_hash) == code_hash
                )
            )
            await s.commit()
            return bool(result.rowcount)  # type: ignore[attr-defined]


def _invite(row: InviteRow) -> Invite:
    return Invite(
        row.id, row.token_hash, Role(row.role), row.created_by,
        _aware(row.created_at), _aware(row.expires_at), row.used_by, row.revoked,
    )


class SqlInviteRepository:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def add(self, invite: Invite) -> Invite:
        row = InviteRow(
            token_hash=invite.token_hash, role=invite.role.value, created_by=invite.created_by,
            created_at=invite.created_at, expires_at=invite.expires_at,
        )
        async with self.db.session() as s:
            s.add(row)
            await s.commit()
            await s.refresh(row)
            return _invite(row)

    async def by_hash(self, token_hash: str) -> Invite | None:
        async with self.db.session() as s:
            row = (await s.execute(select(InviteRow).where(col(InviteRow.token_hash) == token_hash))).scalars().first()
            return _invite(row) if row else None

    async def claim(self, invite_id: int, user_id: int) -> bool:
        async with self.db.session() as s:
            result = await s.execute(
                update(InviteRow)
                .where(col(InviteRow.id) == invite_id, col(InviteRow.used_by).is_(None))
                .values(used_by=user_id)
            )
            await s.commit()
            return bool(result.rowcount)  # type: ignore[attr-defined]


async def server_secret(db: Database, name: str) -> bytes:
    """The named secret, made on first use and kept in the database (so restarts keep sessions)."""
    async with db.session() as s:
        row = await s.get(ServerSecretRow, name)
        if row is not None:
            return bytes.fromhex(row.value)
        value = secrets.token_hex(32)
        s.add(ServerSecretRow(name=name, value=value))
        try:
            await s.commit()
        except IntegrityError:  # another node made it first: use theirs
            await s.rollback()
            row = await s.get(ServerSecretRow, name)
            assert row is not None
            return bytes.fromhex(row.value)
        return bytes.fromhex(value)
