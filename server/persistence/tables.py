"""Stored shapes. SQLModel `table=True` classes live only here."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime
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
