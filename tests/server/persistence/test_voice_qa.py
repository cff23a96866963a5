"""Q&A storage on SQLite and PostgreSQL: votes under concurrency, pins, and two nodes' suggestions."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest

from server.domain.accounts.roles import Role
from server.domain.accounts.users import User
from server.domain.rooms import Orientation, Room
from server.domain.voice.qa import Actor, Pin, QaService, Question, QuestionStatus
from server.persistence.accounts import SqlUserRepository
from server.persistence.db import Database
from server.persistence.voice_qa import SqlQuestionRepository

pytestmark = pytest.mark.timeout(60)

FARM = Room("farm", "高山番茄", "青禾农场", Orientation.PORTRAIT, "h", datetime.now(UTC))
SPRING = Room("farm-spring", "春季专场", "青禾农场", Orientation.PORTRAIT, "h", datetime.now(UTC))


@pytest.fixture
async def db(database_url: str) -> AsyncIterator[Database]:
    database = Database(database_url)
    await database.create_schema()
    yield database
    await database.close()


async def accounts(db: Database, n: int, role: Role = Role.VIEWER) -> list[Actor]:
    users = SqlUserRepository(db)
    out = []
    for i in range(n):
        user = await users.add(User(None, f"u{i}-{role}@example.com", f"用户{i}", role, None, datetime.now(UTC)))
        assert user.id is not None
        out.append(Actor(user.id, user.nickname, role))
    return out


async def test_concurrent_votes_count_each_account_once(db: Database) -> None:
    repo = SqlQuestionRepository(db)
    asker, *voters = await accounts(db, 13)
    service = QaService(repo)
    q = await service.ask(FARM, asker, "番茄什么时候发货")
    assert q.id is not None
    # Every voter votes twice at the same moment (a double tap, two devices).
    await asyncio.gather(*(service.vote(q.id, v, True) for v in voters for _ in range(2)))
    stored = await repo.get(q.id)
    assert stored is not None and stored.votes == len(voters)
    assert await repo.voted_in_room("farm", voters[0].user_id or 0) == {q.id}
    await asyncio.gather(*(service.vote(q.id, v, False) for v in voters[:5] for _ in range(2)))
    stored = await repo.get(q.id)
    assert stored is not None and stored.votes == len(voters) - 5


async def test_the_queue_orders_in_sql_and_a_room_holds_one_pin(db: Database) -> None:
    repo = SqlQuestionRepository(db)
    (asker,) = await accounts(db, 1)
    assert asker.user_id is not None
    now = datetime.now(UTC)
    made = []
    for i, votes in enumerate((0, 2, 2, 1)):
        q = await repo.add(Question(None, "farm", "brand:x", asker.user_id, "a", f"q{i}", now.replace(microsecond=i), votes=votes))
        made.append(q.id)
    queued = await repo.queue("farm", [QuestionStatus.OPEN], 10)
    assert [q.id for q in queued] == [made[1], made[2], made[3], made[0]]
    assert await repo.queue("farm", [QuestionStatus.HIDDEN], 10) == []
    await repo.pin(Pin("farm", made[0] or 0, now))
    await repo.pin(Pin("farm", made[1] or 0, now))
    pin = await repo.pinned("farm")
    assert pin is not None and pin.question_id == made[1]
    assert await repo.unpin("farm", only=made[0]) is None, "only unpins the question it was asked to"
    assert await repo.unpin("farm") == made[1] and await repo.pinned("farm") is None


async def test_a_second_node_suggests_what_the_first_answered_and_forgets_what_it_hid(db: Database) -> None:
    node_a = QaService(SqlQuestionRepository(db))
    node_b = QaService(SqlQuestionRepository(db))  # its own suggestion cache, same database
    viewer, other = await accounts(db, 2)
    (mod,) = await accounts(db, 1, Role.MODERATOR)

    earlier = await node_a.ask(SPRING, viewer, "番茄什么时候发货？")
    assert earlier.id is not None
    new = await node_b.ask(FARM, other, "西红柿几号能发货")
    assert await node_b.suggestions(new) == [], "nothing answered yet"

    await node_a.answer(earlier.id, mod, "下单后48小时内发出")
    found = await node_b.suggestions(new)
    assert [(s.question_id, s.answer, s.room_id) for s in found] == [(earlier.id, "下单后48小时内发出", "farm-spring")]

    await node_a.answer(earlier.id, mod, "今天下单明天发")
    assert [s.answer for s in await node_b.suggestions(new)] == ["今天下单明天发"], "an edited answer"
    await node_a.hide(earlier.id, mod)
    assert await node_b.suggestions(new) == [], "a hidden answer is withdrawn"
    await node_a.hide(earlier.id, mod, hidden=False)
    assert [s.question_id for s in await node_b.suggestions(new)] == [earlier.id]
