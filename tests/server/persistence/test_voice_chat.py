"""Chat storage on SQLite and PostgreSQL: group commit, history, and moderation with its log."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from server.domain.accounts.roles import Role
from server.domain.accounts.users import User
from server.domain.errors import Forbidden
from server.domain.voice.chat import Author, ChatLimits, ChatMessage, ChatService
from server.domain.voice.errors import Banned, TimedOut
from server.domain.voice.moderation import Actor, ModAction, ModerationService, Target
from server.domain.voice.throttle import MemoryThrottle
from server.persistence.accounts import SqlUserRepository
from server.persistence.db import Database
from server.persistence.voice_chat import SqlChatRepository, SqlModerationRepository


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)
        self.mono = 0.0

    def __call__(self) -> datetime:
        return self.now

    def monotonic(self) -> float:
        return self.mono


@dataclass
class Chat:
    db: Database
    messages: SqlChatRepository
    moderation: ModerationService
    service: ChatService
    clock: Clock
    mod: Actor
    viewer: Author


@pytest.fixture
async def chat(database_url: str) -> AsyncIterator[Chat]:
    db = Database(database_url)
    await db.create_schema()
    users = SqlUserRepository(db)
    clock = Clock()
    mod_user = await users.add(User(None, "mod@example.com", "管理员", Role.MODERATOR, None, clock.now))
    viewer_user = await users.add(User(None, "v@example.com", "小番茄", Role.VIEWER, None, clock.now))
    assert mod_user.id is not None and viewer_user.id is not None
    messages = SqlChatRepository(db)
    moderation = ModerationService(
        SqlModerationRepository(db), messages, users, state_ttl_s=1.0, clock=clock, monotonic=clock.monotonic,
    )
    service = ChatService(messages, moderation, MemoryThrottle(), ChatLimits(burst=1000), clock)
    yield Chat(
        db, messages, moderation, service, clock, Actor(mod_user.id, "管理员", Role.MODERATOR),
        Author(viewer_user.id, "小番茄", Role.VIEWER, device="dev-1", ip="10.0.0.1"),
    )
    await messages.close()
    await db.close()


async def test_concurrent_sends_are_stored_in_few_transactions_with_increasing_ids(chat: Chat) -> None:
    commits = 0
    insert = chat.messages._insert

    async def counting(conn: Any, batch: list[ChatMessage]) -> list[ChatMessage]:
        nonlocal commits
        commits += 1
        return await insert(conn, batch)

    chat.messages._insert = counting  # type: ignore[method-assign,assignment]
    stored = await asyncio.gather(*(chat.service.send(chat.viewer, "farm", f"第{i}条") for i in range(200)))
    ids = [m.id for m in stored]
    assert all(i is not None for i in ids) and len(set(ids)) == 200
    assert [m.text for m in sorted(stored, key=lambda m: m.id or 0)] == [f"第{i}条" for i in range(200)]
    assert commits < 50, f"{commits} transactions for 200 messages"
    history = await chat.service.history("farm", 50)
    assert [m.text for m in history] == [f"第{i}条" for i in range(150, 200)]
    assert history[0].device == "dev-1" and history[0].ip == "10.0.0.1", "kept for moderation"


async def test_closing_writes_what_was_accepted(chat: Chat) -> None:
    pending = [asyncio.ensure_future(chat.messages.add(ChatMessage(
        None, "farm", chat.viewer.user_id, "小番茄", Role.VIEWER, f"m{i}", chat.clock.now))) for i in range(20)]
    await asyncio.sleep(0)
    await chat.messages.close()
    assert len({m.id for m in await asyncio.gather(*pending)}) == 20
    assert len(await SqlChatRepository(chat.db).recent("farm", 100)) == 20


async def test_a_writer_connection_that_died_while_idle_is_replaced_without_losing_a_message(chat: Chat) -> None:
    await chat.service.send(chat.viewer, "farm", "before")
    assert chat.messages._conn is not None
    await chat.messages._conn.close()  # as a database restart would leave it
    after = await chat.service.send(chat.viewer, "farm", "after")
    assert after.id is not None
    assert [m.text for m in await chat.service.history("farm")] == ["before", "after"]


async def test_a_timeout_ends_on_its_own_and_every_action_is_logged(chat: Chat) -> None:
    message = await chat.service.send(chat.viewer, "farm", "hello")
    assert message.id is not None
    await chat.moderation.timeout(chat.mod, "farm", Target(message_id=message.id), 10, "刷屏")
    with pytest.raises(TimedOut):
        await chat.service.send(chat.viewer, "farm", "again")
    chat.clock.now += timedelta(minutes=10, seconds=1)
    chat.clock.mono += 2  # the node's copy of the room's state is stale by now
    assert (await chat.service.send(chat.viewer, "farm", "back")).text == "back"
    await chat.moderation.set_slow_mode(chat.mod, "farm", 15)
    await chat.moderation.set_blocked_words(chat.mod, "farm", ["微信"])
    entries = await chat.moderation.log(chat.mod, "farm")
    assert [e.action for e in entries] == [ModAction.FILTER, ModAction.SLOW_MODE, ModAction.TIMEOUT]
    timeout = entries[-1]
    assert timeout.actor_id == chat.mod.user_id and timeout.target_user_id == chat.viewer.user_id
    assert timeout.detail == {"minutes": 10, "reason": "刷屏"} and timeout.message_ids == (message.id,)
    with pytest.raises(Forbidden):
        await chat.moderation.log(Actor(chat.viewer.user_id, "小番茄", Role.VIEWER), "farm")


async def test_another_nodes_ban_is_seen_once_the_copy_expires_and_this_nodes_at_once(chat: Chat) -> None:
    message = await chat.service.send(chat.viewer, "farm", "hello")
    assert message.id is not None
    other_node = ModerationService(
        SqlModerationRepository(chat.db), chat.messages, chat.moderation.users, clock=chat.clock,
    )
    await other_node.ban(chat.mod, "farm", Target(user_id=chat.viewer.user_id))
    assert (await chat.service.send(chat.viewer, "farm", "still cached here")).id
    chat.clock.mono += 1.5
    with pytest.raises(Banned):
        await chat.service.send(chat.viewer, "farm", "now seen")
    await chat.moderation.unban(chat.mod, "farm", chat.viewer.user_id)
    assert (await chat.service.send(chat.viewer, "farm", "lifted here: at once")).id
