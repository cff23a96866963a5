"""Chat messages, sanctions, room chat settings and the moderation log in SQL.

Messages are written by one writer task in batches (group commit): every `add` waits for the
commit of the transaction that carries it, so a message is stored before anyone sees it, and a busy
room costs one transaction per batch instead of one per message.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import replace
from datetime import UTC, datetime

from sqlalchemy import insert, or_, update
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlmodel import col, select

from ..domain.accounts.roles import Role
from ..domain.voice.chat import ChatMessage
from ..domain.voice.moderation import ModAction, ModerationChange, ModerationEntry, ModerationResult
from ..domain.voice.sanctions import ChatRoomSettings, Sanction, SanctionKind
from .db import Database
from .utc import aware as _aware
from .voice_tables import ChatMessageRow, ChatRoomSettingsRow, ChatSanctionRow, ModerationLogRow

logger = logging.getLogger(__name__)

MAX_BATCH = 500


def _maybe_aware(value: datetime | None) -> datetime | None:
    return _aware(value) if value is not None else None


def _message(row: ChatMessageRow) -> ChatMessage:
    return ChatMessage(
        id=row.id, room_id=row.room_id, user_id=row.user_id, nickname=row.nickname, role=Role(row.role),
        text=row.text, created_at=_aware(row.created_at), community=row.community, device=row.device,
        ip=row.ip, removed_at=_maybe_aware(row.removed_at), removed_by=row.removed_by,
    )


def _sanction(row: ChatSanctionRow) -> Sanction:
    return Sanction(
        id=row.id, kind=SanctionKind(row.kind), room_id=row.room_id, user_id=row.user_id, nickname=row.nickname,
        device=row.device, ip=row.ip, reason=row.reason, created_by=row.created_by,
        created_at=_aware(row.created_at), expires_at=_maybe_aware(row.expires_at),
        lifted_at=_maybe_aware(row.lifted_at), lifted_by=row.lifted_by,
    )


def _entry(row: ModerationLogRow) -> ModerationEntry:
    return ModerationEntry(
        id=row.id, room_id=row.room_id, action=ModAction(row.action), actor_id=row.actor_id,
        actor_name=row.actor_name, created_at=_aware(row.created_at), target_user_id=row.target_user_id,
        target_name=row.target_name, message_ids=tuple(row.message_ids or ()), detail=dict(row.detail or {}),
    )


async def _discard(conn: AsyncConnection) -> None:
    try:
        await conn.close()
    except Exception:  # already broken: the pool drops it
        logger.debug("closing a broken chat writer connection failed", exc_info=True)


class SqlChatRepository:
    def __init__(self, db: Database, *, max_batch: int = MAX_BATCH) -> None:
        self.db = db
        self.max_batch = max_batch
        self._pending: list[tuple[ChatMessage, asyncio.Future[ChatMessage]]] = []
        self._wake = asyncio.Event()
        self._writer: asyncio.Task[None] | None = None
        self._conn: AsyncConnection | None = None
        self._closing = False

    async def add(self, message: ChatMessage) -> ChatMessage:
        if self._closing:
            raise RuntimeError("chat storage is shutting down")
        future: asyncio.Future[ChatMessage] = asyncio.get_running_loop().create_future()
        self._pending.append((message, future))
        if self._writer is None or self._writer.done():
            self._writer = asyncio.ensure_future(self._write_loop())
        self._wake.set()
        return await future

    async def close(self) -> None:
        """Writes whatever is still queued, then stops the writer."""
        self._closing = True
        self._wake.set()
        if self._writer is not None:
            await self._writer

    async def _write_loop(self) -> None:
        try:
            while True:
                await self._wake.wait()
                self._wake.clear()
                while self._pending:
                    batch = self._pending[: self.max_batch]
                    del self._pending[: len(batch)]
                    try:
                        stored = await self._store([m for m, _ in batch])
                    except Exception as exc:  # the senders are told; nothing was accepted
                        logger.exception("storing %d chat messages failed", len(batch))
                        for _, future in batch:
                            if not future.done():
                                future.set_exception(exc)
                        continue
                    for (_, future), message in zip(batch, stored, strict=True):
                        if not future.done():
                            future.set_result(message)
                if self._closing:
                    return
        finally:
            if self._conn is not None:
                await _discard(self._conn)
                self._conn = None

    async def _store(self, messages: list[ChatMessage]) -> list[ChatMessage]:
        # The writer keeps one connection: a batch is then one INSERT and one COMMIT, with no pool
        # checkout and reset around it (each a hop to the driver and back through the event loop).
        # A kept connection may have died while idle (a database restart): one retry on a new one.
        for attempt in (1, 2):
            fresh = self._conn is None
            if self._conn is None:
                self._conn = await self.db.engine.connect()
            try:
                return await self._insert(self._conn, messages)
            except Exception:
                await _discard(self._conn)
                self._conn = None
                if fresh or attempt == 2:
                    raise
        raise AssertionError("unreachable")

    @staticmethod
    async def _insert(conn: AsyncConnection, messages: list[ChatMessage]) -> list[ChatMessage]:
        # Core, not the ORM: one INSERT ... RETURNING id for the whole batch, no row objects.
        table = ChatMessageRow.__table__  # type: ignore[attr-defined]
        rows = [
            {
                "room_id": m.room_id, "user_id": m.user_id, "nickname": m.nickname, "role": m.role.value,
                "community": m.community, "text": m.text, "device": m.device, "ip": m.ip,
                "created_at": m.created_at.astimezone(UTC), "removed_at": None, "removed_by": None,
            }
            for m in messages
        ]
        statement = insert(table).returning(table.c.id, sort_by_parameter_order=True)
        try:
            ids = (await conn.execute(statement, rows)).scalars().all()
            await conn.commit()
        except BaseException:
            await conn.rollback()
            raise
        return [replace(m, id=int(i)) for m, i in zip(messages, ids, strict=True)]

    async def recent(self, room_id: str, limit: int, before_id: int | None = None) -> list[ChatMessage]:
        query = (
            select(ChatMessageRow)
            .where(ChatMessageRow.room_id == room_id, col(ChatMessageRow.removed_at).is_(None))
            .order_by(col(ChatMessageRow.id).desc())
            .limit(limit)
        )
        if before_id is not None:
            query = query.where(col(ChatMessageRow.id) < before_id)
        async with self.db.session() as s:
            rows = (await s.execute(query)).scalars().all()
        return [_message(r) for r in reversed(rows)]

    async def get(self, message_id: int) -> ChatMessage | None:
        async with self.db.session() as s:
            row = await s.get(ChatMessageRow, message_id)
            return _message(row) if row else None

    async def latest_by_user(self, user_id: int) -> ChatMessage | None:
        query = (
            select(ChatMessageRow).where(ChatMessageRow.user_id == user_id)
            .order_by(col(ChatMessageRow.id).desc()).limit(1)
        )
        async with self.db.session() as s:
            row = (await s.execute(query)).scalars().first()
            return _message(row) if row else None


class SqlModerationRepository:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def settings(self, room_id: str) -> ChatRoomSettings:
        async with self.db.session() as s:
            row = await s.get(ChatRoomSettingsRow, room_id)
        if row is None:
            return ChatRoomSettings(room_id)
        return ChatRoomSettings(room_id, row.slow_mode_s, tuple(row.blocked_words or ()))

    async def active_sanctions(self, room_id: str, now: datetime) -> list[Sanction]:
        query = (
            select(ChatSanctionRow)
            .where(
                col(ChatSanctionRow.lifted_at).is_(None),
                or_(col(ChatSanctionRow.expires_at).is_(None), col(ChatSanctionRow.expires_at) > now),
                or_(col(ChatSanctionRow.kind) == SanctionKind.BAN.value, col(ChatSanctionRow.room_id) == room_id),
            )
            .order_by(col(ChatSanctionRow.id))
        )
        async with self.db.session() as s:
            rows = (await s.execute(query)).scalars().all()
        return [_sanction(r) for r in rows]

    async def entries(self, room_id: str, limit: int, before_id: int | None = None) -> list[ModerationEntry]:
        query = (
            select(ModerationLogRow).where(ModerationLogRow.room_id == room_id)
            .order_by(col(ModerationLogRow.id).desc()).limit(limit)
        )
        if before_id is not None:
            query = query.where(col(ModerationLogRow.id) < before_id)
        async with self.db.session() as s:
            rows = (await s.execute(query)).scalars().all()
        return [_entry(r) for r in rows]

    async def apply(self, change: ModerationChange) -> ModerationResult:
        entry = change.entry
        at = entry.created_at.astimezone(UTC)
        async with self.db.session() as s:
            removed: list[int] = []
            if change.remove_ids or change.remove_user is not None:
                hide = update(ChatMessageRow).where(
                    col(ChatMessageRow.room_id) == entry.room_id, col(ChatMessageRow.removed_at).is_(None)
                )
                if change.remove_ids:
                    hide = hide.where(col(ChatMessageRow.id).in_(change.remove_ids))
                else:
                    hide = hide.where(col(ChatMessageRow.user_id) == change.remove_user)
                result = await s.execute(
                    hide.values(removed_at=at, removed_by=entry.actor_id).returning(col(ChatMessageRow.id))
                )
                removed = sorted(int(i) for i in result.scalars().all() if i is not None)
            if change.only_if_removed and not removed:
                await s.rollback()
                return ModerationResult(None)

            sanction_row = None
            if change.sanction is not None:
                x = change.sanction
                sanction_row = ChatSanctionRow(
                    kind=x.kind.value, room_id=x.room_id, user_id=x.user_id, nickname=x.nickname,
                    device=x.device, ip=x.ip, reason=x.reason, created_by=x.created_by,
                    created_at=x.created_at.astimezone(UTC),
                    expires_at=x.expires_at.astimezone(UTC) if x.expires_at else None,
                )
                s.add(sanction_row)

            lifted: list[ChatSanctionRow] = []
            if change.lift_user is not None:
                result = await s.execute(
                    update(ChatSanctionRow)
                    .where(
                        col(ChatSanctionRow.user_id) == change.lift_user,
                        col(ChatSanctionRow.lifted_at).is_(None),
                        or_(col(ChatSanctionRow.expires_at).is_(None), col(ChatSanctionRow.expires_at) > at),
                        or_(col(ChatSanctionRow.kind) == SanctionKind.BAN.value, col(ChatSanctionRow.room_id) == entry.room_id),
                    )
                    .values(lifted_at=at, lifted_by=entry.actor_id)
                    .returning(ChatSanctionRow)
                )
                lifted = list(result.scalars().all())  # type: ignore[arg-type]  # (RETURNING rows)

            if change.slow_mode_s is not None or change.blocked_words is not None:
                settings = await s.get(ChatRoomSettingsRow, entry.room_id)
                if settings is None:
                    settings = ChatRoomSettingsRow(room_id=entry.room_id, slow_mode_s=0, blocked_words=[], updated_at=at)
                if change.slow_mode_s is not None:
                    settings.slow_mode_s = change.slow_mode_s
                if change.blocked_words is not None:
                    settings.blocked_words = list(change.blocked_words)
                settings.updated_at = at
                s.add(settings)

            log_row = ModerationLogRow(
                room_id=entry.room_id, action=entry.action.value, actor_id=entry.actor_id,
                actor_name=entry.actor_name[:80], target_user_id=entry.target_user_id,
                target_name=entry.target_name[:64], message_ids=sorted({*entry.message_ids, *removed}),
                detail=dict(entry.detail) | ({"removed": len(removed)} if removed else {}),
                created_at=at,
            )
            s.add(log_row)
            await s.commit()
            return ModerationResult(
                entry=_entry(log_row),
                removed=tuple(removed),
                sanction=_sanction(sanction_row) if sanction_row is not None else None,
                lifted=tuple(_sanction(r) for r in lifted),
            )
