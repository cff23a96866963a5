"""What chat refuses, each with a stable code. Refusals that pass with time carry `retry_after`."""

from __future__ import annotations

import math
from datetime import datetime

from ..errors import Forbidden, InvalidInput


def _seconds(value: float) -> int:
    return max(1, math.ceil(value))


class EmptyMessage(InvalidInput):
    code = "empty_message"


class MessageTooLong(InvalidInput):
    code = "message_too_long"


class RateLimited(InvalidInput):
    """Too many messages in a short time (the per-user burst limit)."""

    code = "rate_limited"

    def __init__(self, retry_after: float) -> None:
        super().__init__(f"too many messages: wait {_seconds(retry_after)} s")
        self.retry_after = retry_after


class SlowMode(InvalidInput):
    code = "slow_mode"

    def __init__(self, retry_after: float) -> None:
        super().__init__(f"slow mode is on: wait {_seconds(retry_after)} s before your next message")
        self.retry_after = retry_after


class BlockedWord(InvalidInput):
    """Refused, not masked: a masked "add me on ***" still says what it says, and the sender is told."""

    code = "blocked_word"

    def __init__(self, word: str) -> None:
        super().__init__(f"the message contains a blocked word: {word}")
        self.word = word


class TimedOut(Forbidden):
    code = "timed_out"

    def __init__(self, until: datetime, now: datetime) -> None:
        self.retry_after = max(0.0, (until - now).total_seconds())
        super().__init__(f"you are timed out in this room for {_seconds(self.retry_after)} s more")
        self.until = until


class Banned(Forbidden):
    code = "banned"

    def __init__(self) -> None:
        super().__init__("you are banned from chat")


class StaffNotSanctioned(Forbidden):
    code = "forbidden"

    def __init__(self) -> None:
        super().__init__("moderators, hosts and operators cannot be timed out or banned (an operator can change their role)")
