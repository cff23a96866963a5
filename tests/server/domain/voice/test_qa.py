"""Q&A rules that need no storage: cleaning user text, who moderates, the suggestion scope."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from server.domain.accounts.roles import Role
from server.domain.rooms import Orientation, Room
from server.domain.voice.qa import (
    QUESTION_MAX,
    Actor,
    QuestionStatus,
    QueueFilter,
    TextEmpty,
    TextTooLong,
    clean_text,
    scope_for,
)


def room(room_id: str, brand: str) -> Room:
    return Room(room_id, "t", brand, Orientation.PORTRAIT, "h", datetime.now(UTC))


def test_clean_text_keeps_what_people_type_and_drops_what_misleads() -> None:
    assert clean_text("<img src=x onerror=alert(1)>", what="question", max_len=300) == "<img src=x onerror=alert(1)>"
    assert clean_text("  番茄\n\n发货？ 🍅👨‍👩‍👧 ", what="question", max_len=300) == "番茄 发货？ 🍅👨‍👩‍👧"
    assert clean_text("\u202eevil\u202c\u200b ok\x07", what="question", max_len=300) == "evil ok"
    assert clean_text("q\u0301\u0302\u0303\u0304\u0305\u0306\u0307", what="question", max_len=300) == "q\u0301\u0302\u0303\u0304"
    assert clean_text("هل هو عضوي؟", what="question", max_len=300) == "هل هو عضوي؟"
    with pytest.raises(TextEmpty):
        clean_text(" \u200b\u202e\t", what="question", max_len=300)
    with pytest.raises(TextTooLong, match="300 characters.*2000"):
        clean_text("番" * 2000, what="question", max_len=QUESTION_MAX)


def test_moderators_hosts_and_operators_moderate_and_nobody_else() -> None:
    assert {r for r in Role if Actor(1, "x", r).moderates} == {Role.MODERATOR, Role.HOST, Role.OPERATOR}


def test_suggestions_are_scoped_to_the_brand_or_else_the_room() -> None:
    assert scope_for(room("farm", "青禾农场")) == scope_for(room("farm-spring", " 青禾农场 "))
    assert scope_for(room("farm", "青禾农场")) != scope_for(room("other", "绿野农庄"))
    assert scope_for(room("farm", "")) == "room:farm" != scope_for(room("farm2", ""))


def test_filters_cover_the_statuses() -> None:
    assert QueueFilter.PUBLIC.statuses == {QuestionStatus.OPEN, QuestionStatus.ANSWERED}
    assert QueueFilter.ALL.statuses == set(QuestionStatus)
