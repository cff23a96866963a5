"""Stored shapes of the trace log, batches, photos and sensors."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    Index,
    Integer,
    LargeBinary,
    Text,
    UniqueConstraint,
)
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


class SensorDeviceRow(SQLModel, table=True):
    __tablename__ = "sensor_devices"

    id: str = Field(primary_key=True, max_length=40)
    name: str = Field(max_length=40)
    kind: str = Field(max_length=10)
    token_hash: str = Field(max_length=64)
    revoked: bool = False
    simulated: bool = False
    created_at: datetime = Field(sa_type=DateTime(timezone=True))


class SensorReadingRow(SQLModel, table=True):
    """Raw readings, kept for sensor_raw_retention_hours; one row per message, a column per quantity."""

    __tablename__ = "sensor_readings"
    __table_args__ = (Index("ix_sensor_readings_device_at", "device_id", "at"),)

    id: int | None = Field(default=None, sa_column=Column(BigInteger().with_variant(Integer(), "sqlite"), primary_key=True, autoincrement=True))
    device_id: str = Field(max_length=40)
    at: datetime = Field(sa_type=DateTime(timezone=True))
    temperature: float | None = None
    humidity: float | None = None
    soil_moisture: float | None = None


class SensorRollupRow(SQLModel, table=True):
    """5-minute buckets: what history is kept as, forever, at ~105k rows per device-year."""

    __tablename__ = "sensor_rollups"

    device_id: str = Field(primary_key=True, max_length=40)
    bucket: datetime = Field(sa_type=DateTime(timezone=True), primary_key=True)
    n: int = 0
    t_n: int = 0
    t_min: float | None = None
    t_max: float | None = None
    t_sum: float = 0.0
    h_n: int = 0
    h_min: float | None = None
    h_max: float | None = None
    h_sum: float = 0.0
    m_n: int = 0
    m_min: float | None = None
    m_max: float | None = None
    m_sum: float = 0.0


class SensorLinkRow(SQLModel, table=True):
    """A device watching a batch from `since` (an AssociationEvent ADD) until `until` (DELETE)."""

    __tablename__ = "sensor_links"

    id: int | None = Field(default=None, primary_key=True)
    batch_id: int = Field(foreign_key="trace_batches.id", index=True)
    device_id: str = Field(max_length=40, index=True)
    since: datetime = Field(sa_type=DateTime(timezone=True))
    until: datetime | None = Field(default=None, sa_type=DateTime(timezone=True))


class RoomTraceOverlayRow(SQLModel, table=True):
    """What a room's host chose to show: the sensor panel's devices and the batch behind the QR layer."""

    __tablename__ = "room_trace_overlays"

    room_id: str = Field(primary_key=True, max_length=63)
    devices: str = Field(default="", max_length=400)  # comma-separated device ids, in panel order
    gtin: str = Field(default="", max_length=14)
    lot: str = Field(default="", max_length=20)


class ColdChainExcursionRow(SQLModel, table=True):
    __tablename__ = "coldchain_excursions"

    batch_id: int = Field(primary_key=True)
    device_id: str = Field(primary_key=True, max_length=40)
    minutes_outside: float = 0.0
    last_at: datetime | None = Field(default=None, sa_type=DateTime(timezone=True))
    last_value: float | None = None
    last_outside: bool = False
    breached_at: datetime | None = Field(default=None, sa_type=DateTime(timezone=True))


class ColdChainNoticeRow(SQLModel, table=True):
    """What a buyer was told about a breach in a batch their order holds (one per order and breach)."""

    __tablename__ = "coldchain_notices"
    __table_args__ = (UniqueConstraint("order_id", "event_id"),)

    id: int | None = Field(default=None, primary_key=True)
    batch_id: int = Field(index=True)
    order_id: int = Field(index=True)
    user_id: int = Field(index=True)
    event_id: str = Field(max_length=100)
    message_zh: str = Field(max_length=300)
    message_en: str = Field(max_length=300)
    offer_zh: str = Field(max_length=200)
    offer_en: str = Field(max_length=200)
    created_at: datetime = Field(sa_type=DateTime(timezone=True))
    handled: bool = False


class ColdChainPolicyRow(SQLModel, table=True):
    __tablename__ = "coldchain_policy"

    id: int = Field(default=1, primary_key=True)
    kind: str = Field(max_length=20)
    amount: int = 0
