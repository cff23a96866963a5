"""The roles everything else authorises against."""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    OPERATOR = "operator"
    HOST = "host"
    MODERATOR = "moderator"
    KOC = "koc"
    VIEWER = "viewer"


# What each role may also do: an operator may do anything a host or moderator may; a host
# moderates (their room's chat, questions and reviews).
_IMPLIES: dict[Role, frozenset[Role]] = {
    Role.OPERATOR: frozenset(Role),
    Role.HOST: frozenset({Role.HOST, Role.MODERATOR, Role.KOC, Role.VIEWER}),
    Role.MODERATOR: frozenset({Role.MODERATOR, Role.VIEWER}),
    Role.KOC: frozenset({Role.KOC, Role.VIEWER}),
    Role.VIEWER: frozenset({Role.VIEWER}),
}


def role_allows(held: Role, needed: Role) -> bool:
    return needed in _IMPLIES[held]
