"""API tokens in SQL."""

from __future__ import annotations

from datetime import UTC

from sqlmodel import col, select

from ..domain.accounts.roles import Role
from ..domain.accounts.tokens import ApiToken
from .db import Database
from .rooms import _aware
from .tables import ApiTokenRow


def _to_domain(row: ApiTokenRow) -> ApiToken:
    return ApiToken(
        id=row.id,
        label=row.label,
        role=Role(row.role),
        token_hash=row.token_hash,
        created_at=_aware(row.created_at),
        revoked=row.revoked,
    )


class SqlTokenRepository:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def add(self, token: ApiToken) -> ApiToken:
        row = ApiTokenRow(
            label=token.label,
            role=token.role.value,
            token_hash=token.token_hash,
            created_at=token.created_at.astimezone(UTC),
            revoked=token.revoked,
        )
        async with self.db.session() as session:
            session.add(row)
            await session.commit()
            await session.refresh(row)
            return _to_domain(row)

    async def find_by_hash(self, token_hash: str) -> ApiToken | None:
        async with self.db.session() as session:
            stmt = select(ApiTokenRow).where(col(ApiTokenRow.token_hash) == token_hash)
            row = (await session.execute(stmt)).scalars().first()
            return _to_domain(row) if row else None

    async def revoke(self, token_id: int) -> bool:
        async with self.db.session() as session:
            row = await session.get(ApiTokenRow, token_id)
            if row is None:
                return False
            row.revoked = True
            session.add(row)
            await session.commit()
            return True
