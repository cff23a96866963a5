"""Stored shapes for chat and its moderation (imported by db.py so create_schema makes them)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Column, DateTime, Index, Integer, Text
from sqlmodel import Field, SQLModel

# 64-bit ids on PostgreSQL; SQLite only auto-numbers a column declared exactly INTEGER.
_BIG_ID = BigInteger().with_variant(Integer(), "sqlite")


class ChatMessageRow(SQLModel, table=True):
    __tablename__ = "chat_messages"
    __table_args__ = (
        Index("ix_chat_messages_room_id_id", "room_id", "id"),
        Index("ix_chat_messages_user_id_id", "user_id", "id"),
    )

    id: int | None = Field(default=None, sa_column=Column(_BIG_ID, primary_key=True, autoincrement=True))
    room_id: str = Field(max_length=63)
    user_id: int
    nickname: str = Field(max_length=64)
    role: str = Field(max_length=16)
    community: str = Field(default="", max_length=80)
    text: str = Field(sa_type=Text)
    device: str = Field(default="", max_length=64)
    ip: str = Field(default="", max_length=64)
    created_at: datetime = Field(sa_type=DateTime(timezone=True))
    removed_at: datetime | None = Field(default=None, sa_type=DateTime(timezone=True))
    removed_by: int | None = None


class ChatSanctionRow(SQLModel, table=True):
    __tablename__ = "chat_sanctions"

    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(max_length=16)
    room_id: str = Field(max_length=63)
    user_id: int = Field(index=True)
    nickname: str = Field(max_length=64)
    device: str = Field(default="", max_length=64, index=True)
    ip: str = Field(default="", max_length=64)
    reason: str = Field(default="", sa_type=Text)
    created_by: int | None = None
    created_at: datetime = Field(sa_type=DateTime(timezone=True))
    expires_at: datetime | None = Field(default=None, sa_type=DateTime(timezone=True))
    lifted_at: datetime | None = Field(default=None, sa_type=DateTime(timezone=True), index=True)
    lifted_by: int | None = None


class ChatRoomSettingsRow(SQLModel, table=True):
    __tablename__ = "chat_room_settings"

    room_id: str = Field(primary_key=True, max_length=63)
    slow_mode_s: int = 0
    blocked_words: list[str] = Field(default_factory=list, sa_type=JSON)
    updated_at: datetime = Field(sa_type=DateTime(timezone=True))


class ModerationLogRow(SQLModel, table=True):
    __tablename__ = "moderation_log"
    __table_args__ = (Index("ix_moderation_log_room_id_id", "room_id", "id"),)

    id: int | None = Field(default=None, sa_column=Column(_BIG_ID, primary_key=True, autoincrement=True))
    room_id: str = Field(max_length=63)
    action: str = Field(max_length=16)
    actor_id: int | None = None
    actor_name: str = Field(max_length=80)
    target_user_id: int | None = None
    target_name: str = Field(default="", max_length=64)
    message_ids: list[int] = Field(default_factory=list, sa_type=JSON)
    detail: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)
    created_at: datetime = Field(sa_type=DateTime(timezone=True))
