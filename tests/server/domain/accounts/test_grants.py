"""The grant rules on their own: what a caller may do in a room, and who may grant what."""

from __future__ import annotations

import pytest

from server.domain.accounts.grants import check_may_grant, room_role
from server.domain.accounts.roles import Role
from server.domain.errors import Forbidden, InvalidInput


@pytest.mark.parametrize(
    ("account", "granted", "expected"),
    [
        (Role.OPERATOR, None, Role.OPERATOR),
        (Role.OPERATOR, Role.MODERATOR, Role.OPERATOR),  # a grant never narrows an operator
        (Role.MODERATOR, None, Role.VIEWER),  # an account role alone moderates nowhere
        (Role.HOST, None, Role.VIEWER),
        (Role.MODERATOR, Role.MODERATOR, Role.MODERATOR),
        (Role.VIEWER, Role.HOST, Role.HOST),  # the grant is what counts
        (Role.HOST, Role.MODERATOR, Role.MODERATOR),
        (Role.KOC, None, Role.KOC),
        (Role.VIEWER, None, Role.VIEWER),
    ],
)
def test_the_role_in_a_room_comes_from_its_grant_and_operators_are_global(
    account: Role, granted: Role | None, expected: Role
) -> None:
    assert room_role(account, granted) is expected


def test_operators_grant_hosts_and_moderators_and_a_host_only_moderators() -> None:
    check_may_grant(Role.OPERATOR, Role.HOST)
    check_may_grant(Role.OPERATOR, Role.MODERATOR)
    check_may_grant(Role.HOST, Role.MODERATOR)
    with pytest.raises(Forbidden):
        check_may_grant(Role.HOST, Role.HOST)
    for who in (Role.MODERATOR, Role.KOC, Role.VIEWER):
        with pytest.raises(Forbidden):
            check_may_grant(who, Role.MODERATOR)
    for role in (Role.OPERATOR, Role.KOC, Role.VIEWER):
        with pytest.raises(InvalidInput):
            check_may_grant(Role.OPERATOR, role)
