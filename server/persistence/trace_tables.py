"""Stored shapes of the trace log, batches, photos and sensors."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Column, DateTime, Index, LargeBinary, Text, UniqueConstraint
from sqlmodel import Field, SQLModel


class TraceProductRow(SQLModel, table=True):
    __tablename__ = "trace_products"

    gtin: str = Field(primary_key=True, max_length=14)
    name: str = Field(max_length=80)
    band_quantity: str | None = Field(default=None, max_length=16)
    band_low: float | None = None
    band_high: float | None = None
    band_max_minutes: float | None = None


class TraceBatchRow(SQLModel, table=True):
    __tablename__ = "trace_batches"
    __table_args__ = (UniqueConstraint("gtin", "lot"),)

    id: int | None = Field(default=None, primary_key=True)
    gtin: str = Field(max_length=14, foreign_key="trace_products.gtin")
    lot: str = Field(max_length=20)
    product_name: str = Field(max_length=80)
    farm: str = Field(default="", max_length=80)
    created_at: datetime = Field(sa_type=DateTime(timezone=True))
    flagged: bool = False
    flag_reason: str = Field(default="", max_length=300)


class TraceEventRow(SQLModel, table=True):
    """One logged event; `seq` is its leaf index. Rows are only ever inserted."""

    __tablename__ = "trace_events"
    __table_args__ = (UniqueConstraint("event_hash", "declares_error"),)

    seq: int = Field(sa_column=Column(BigInteger, primary_key=True, autoincrement=False))
    event_hash: str = Field(max_length=100, index=True)
    declares_error: bool = False
    event_type: str = Field(max_length=24)
    biz_step: str = Field(default="", max_length=60)
    event_time: datetime = Field(sa_type=DateTime(timezone=True))
    body: str = Field(sa_column=Column(Text, nullable=False))


class TraceEventBatchRow(SQLModel, table=True):
    __tablename__ = "trace_event_batches"
    __table_args__ = (Index("ix_trace_event_batches_batch", "batch_id", "seq"),)

    seq: int = Field(sa_column=Column(BigInteger, primary_key=True, autoincrement=False))
    batch_id: int = Field(primary_key=True, foreign_key="trace_batches.id")


class TraceNodeRow(SQLModel, table=True):
    """The hash of a complete subtree: id = level << 48 | index (see merkle.py)."""

    __tablename__ = "trace_nodes"

    id: int = Field(sa_column=Column(BigInteger, primary_key=True, autoincrement=False))
    hash: bytes = Field(sa_column=Column(LargeBinary, nullable=False))


class TraceHeadRow(SQLModel, table=True):
    """The one row appends lock and move: the tree size."""

    __tablename__ = "trace_head"

    id: int = Field(default=1, primary_key=True)
    size: int = Field(default=0, sa_column=Column(BigInteger, nullable=False, default=0))


class TraceCheckpointRow(SQLModel, table=True):
    __tablename__ = "trace_checkpoints"

    size: int = Field(sa_column=Column(BigInteger, primary_key=True, autoincrement=False))
    root: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    note: str = Field(sa_column=Column(Text, nullable=False))
    signed_at: datetime = Field(sa_type=DateTime(timezone=True))


class TracePhotoRow(SQLModel, table=True):
    __tablename__ = "trace_photos"

    sha256: str = Field(primary_key=True, max_length=64)
    content_type: str = Field(max_length=40)
    width: int
    height: int
    data: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    created_at: datetime = Field(sa_type=DateTime(timezone=True))
