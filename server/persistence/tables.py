"""Stored shapes. SQLModel `table=True` classes live only here."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, UniqueConstraint
from sqlmodel import Field, SQLModel


class RoomRow(SQLModel, table=True):
    __tablename__ = "rooms"

    id: str = Field(primary_key=True, max_length=63)
    title: str = Field(max_length=120)
    brand: str = Field(default="", max_length=60)
    orientation: str = Field(max_length=16)
    stream_key_hash: str = Field(max_length=64)
    demo_source: bool = False
    created_at: datetime = Field(sa_type=DateTime(timezone=True))


class ApiTokenRow(SQLModel, table=True):
    __tablename__ = "api_tokens"

    id: int | None = Field(default=None, primary_key=True)
    label: str = Field(max_length=80)
    role: str = Field(max_length=16)
    token_hash: str = Field(max_length=64, unique=True, index=True)
    created_at: datetime = Field(sa_type=DateTime(timezone=True))
    revoked: bool = False


class UserRow(SQLModel, table=True):
    __tablename__ = "users"

    id: int | None = Field(default=None, primary_key=True)
    identifier: str = Field(max_length=254, unique=True, index=True)
    nickname: str = Field(max_length=24)
    role: str = Field(max_length=16)
    password_hash: str | None = Field(default=None, max_length=200)
    community: str = Field(default="", max_length=40)
    # The community (小区) the user buys with; `community` keeps its name for display.
    community_id: int | None = Field(default=None, index=True)
    created_at: datetime = Field(sa_type=DateTime(timezone=True))


class SessionRow(SQLModel, table=True):
    __tablename__ = "sessions"

    id: int | None = Field(default=None, primary_key=True)
    token_hash: str = Field(max_length=64, unique=True, index=True)
    user_id: int = Field(foreign_key="users.id", index=True)
    created_at: datetime = Field(sa_type=DateTime(timezone=True))
    expires_at: datetime = Field(sa_type=DateTime(timezone=True))
    revoked: bool = False


class LoginCodeRow(SQLModel, table=True):
    __tablename__ = "login_codes"

    identifier: str = Field(primary_key=True, max_length=254)
    code_hash: str = Field(max_length=64)
    expires_at: datetime = Field(sa_type=DateTime(timezone=True))
    attempts: int = 0


class InviteRow(SQLModel, table=True):
    __tablename__ = "invites"

    id: int | None = Field(default=None, primary_key=True)
    token_hash: str = Field(max_length=64, unique=True, index=True)
    role: str = Field(max_length=16)
    created_by: int | None = Field(default=None, foreign_key="users.id")
    created_at: datetime = Field(sa_type=DateTime(timezone=True))
    expires_at: datetime = Field(sa_type=DateTime(timezone=True))
    used_by: int | None = Field(default=None, foreign_key="users.id")
    revoked: bool = False


class RoomGrantRow(SQLModel, table=True):
    """Host or moderator of one room, held by an account (subject "user") or an API token
    ("token"). One grant per subject and room."""

    __tablename__ = "room_grants"
    __table_args__ = (UniqueConstraint("room_id", "subject_kind", "subject_id", name="uq_room_grant_subject"),)

    id: int | None = Field(default=None, primary_key=True)
    room_id: str = Field(max_length=63, index=True)
    subject_kind: str = Field(max_length=8)
    subject_id: int = Field(index=True)
    role: str = Field(max_length=16)
    granted_by: str = Field(default="", max_length=100)
    created_at: datetime = Field(sa_type=DateTime(timezone=True))


class ServerSecretRow(SQLModel, table=True):
    """Secrets the server makes for itself on first start (cookie signing), kept across restarts."""

    __tablename__ = "server_secrets"

    name: str = Field(primary_key=True, max_length=40)
    value: str = Field(max_length=200)
