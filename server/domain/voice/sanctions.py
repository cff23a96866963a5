"""Timeouts and bans, and whom they hold against.

A sanction is tied to the account AND the device id AND the IP address the person chatted from, so
a new nickname, a new account from the same browser, or a fresh anonymous session on the same
connection does not get round it. The IP part stops holding after `ip_hold` (mobile carriers put
many people behind one address and hand addresses on); the account and device parts hold until the
sanction expires or is lifted. A ban holds in every room on this server (the same people moderate
all of them); a timeout cools one room's conversation, so it holds only in the room it was given in.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from .errors import Banned, TimedOut
from .keywords import KeywordFilter


class SanctionKind(StrEnum):
    TIMEOUT = "timeout"
    BAN = "ban"


@dataclass(frozen=True)
class Sanction:
    id: int | None
    kind: SanctionKind
    room_id: str  # where it was given
    user_id: int
    nickname: str  # at the time, for the log and the moderators' list
    device: str  # the signed device id ("" if unknown)
    ip: str
    reason: str
    created_by: int | None
    created_at: datetime
    expires_at: datetime | None = None  # None: until lifted
    lifted_at: datetime | None = None
    lifted_by: int | None = None

    def active(self, now: datetime) -> bool:
        return self.lifted_at is None and (self.expires_at is None or now < self.expires_at)

    def applies_in(self, room_id: str) -> bool:
        return self.kind is SanctionKind.BAN or self.room_id == room_id


@dataclass(frozen=True)
class ChatRoomSettings:
    room_id: str
    slow_mode_s: int = 0
    blocked_words: tuple[str, ...] = ()


class RoomModeration:
    """What one room's chat enforces right now: its settings, its word filter, the sanctions in force."""

    def __init__(
        self,
        settings: ChatRoomSettings,
        sanctions: list[Sanction],
        *,
        global_words: tuple[str, ...] = (),
        ip_hold: timedelta = timedelta(hours=24),
    ) -> None:
        self.settings = settings
        self.filter = KeywordFilter((*global_words, *settings.blocked_words))
        self.sanctions = tuple(s for s in sanctions if s.applies_in(settings.room_id))
        self.ip_hold = ip_hold
        # Indexed: a busy room checks every message against every ban in force.
        self._by_user: dict[int, list[Sanction]] = defaultdict(list)
        self._by_device: dict[str, list[Sanction]] = defaultdict(list)
        self._by_ip: dict[str, list[Sanction]] = defaultdict(list)
        for s in self.sanctions:
            self._by_user[s.user_id].append(s)
            if s.device:
                self._by_device[s.device].append(s)
            if s.ip:
                self._by_ip[s.ip].append(s)

    def restriction(self, user_id: int | None, device: str, ip: str, now: datetime) -> Sanction | None:
        """The sanction that stops this person chatting here (a ban before a timeout), or None."""
        found: list[Sanction] = []
        if user_id is not None:
            found += self._by_user.get(user_id, ())
        if device:
            found += self._by_device.get(device, ())
        if ip:
            found += [s for s in self._by_ip.get(ip, ()) if now < s.created_at + self.ip_hold]
        live = [s for s in found if s.active(now)]
        if not live:
            return None
        bans = [s for s in live if s.kind is SanctionKind.BAN]
        if bans:
            return bans[0]
        return max(live, key=lambda s: s.expires_at or now)


def refusal(sanction: Sanction, now: datetime) -> Banned | TimedOut:
    if sanction.kind is SanctionKind.BAN or sanction.expires_at is None:
        return Banned()
    return TimedOut(sanction.expires_at, now)
