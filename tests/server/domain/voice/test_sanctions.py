"""Whom a sanction holds against: the account, the device, the IP (for a while); bans before timeouts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from server.domain.voice.errors import Banned, TimedOut
from server.domain.voice.sanctions import (
    ChatRoomSettings,
    RoomModeration,
    Sanction,
    SanctionKind,
    refusal,
)

NOW = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)


def sanction(kind: SanctionKind, *, room: str = "farm", user: int = 1, device: str = "dev-a", ip: str = "10.0.0.1",
             at: datetime = NOW, minutes: int | None = None, lifted: bool = False) -> Sanction:
    return Sanction(
        1, kind, room, user, "spam", device, ip, "", 9, at,
        expires_at=at + timedelta(minutes=minutes) if minutes else None,
        lifted_at=at if lifted else None,
    )


def state(*sanctions: Sanction, room: str = "farm", ip_hold_h: float = 24) -> RoomModeration:
    return RoomModeration(ChatRoomSettings(room), list(sanctions), ip_hold=timedelta(hours=ip_hold_h))


def test_a_ban_holds_against_the_account_the_device_and_the_address() -> None:
    room = state(sanction(SanctionKind.BAN))
    assert room.restriction(1, "dev-new", "10.9.9.9", NOW) is not None
    assert room.restriction(2, "dev-a", "10.9.9.9", NOW) is not None
    assert room.restriction(3, "dev-other", "10.0.0.1", NOW) is not None
    assert room.restriction(4, "dev-other", "10.9.9.9", NOW) is None
    assert room.restriction(None, "", "", NOW) is None


def test_the_address_part_lapses_but_account_and_device_hold() -> None:
    later = NOW + timedelta(hours=25)
    room = state(sanction(SanctionKind.BAN))
    assert room.restriction(3, "dev-other", "10.0.0.1", later) is None
    assert room.restriction(2, "dev-a", "10.0.0.1", later) is not None
    assert room.restriction(1, "", "", later) is not None


def test_a_timeout_expires_holds_only_in_its_room_and_a_ban_wins() -> None:
    timeout = sanction(SanctionKind.TIMEOUT, minutes=10)
    here = state(timeout)
    assert isinstance(refusal(here.restriction(1, "", "", NOW) or timeout, NOW), TimedOut)
    assert here.restriction(1, "", "", NOW + timedelta(minutes=11)) is None
    assert state(timeout, room="orchard").restriction(1, "", "", NOW) is None
    ban_elsewhere = sanction(SanctionKind.BAN, room="orchard", device="", ip="")
    both = state(timeout, ban_elsewhere)
    found = both.restriction(1, "", "", NOW)
    assert found is not None and found.kind is SanctionKind.BAN
    assert isinstance(refusal(found, NOW), Banned)


def test_lifted_sanctions_hold_against_nobody() -> None:
    assert state(sanction(SanctionKind.BAN, lifted=True)).restriction(1, "dev-a", "10.0.0.1", NOW) is None


def test_a_timeout_refusal_says_how_long_is_left() -> None:
    refused = refusal(sanction(SanctionKind.TIMEOUT, minutes=10), NOW + timedelta(minutes=4))
    assert isinstance(refused, TimedOut) and refused.retry_after == 360.0 and "360 s" in refused.message
