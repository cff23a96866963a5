"""What one-time-code sign-in refuses, each with a stable code (both are 401s)."""

from __future__ import annotations

from ..errors import Unauthorized


class WrongCode(Unauthorized):
    """The guess was compared with the code and was not it: one of the code's 5 tries is gone."""

    code = "wrong_code"


class NoLiveCode(Unauthorized):
    """Nothing to compare with: no code, an expired one, its tries used up, or already used."""

    code = "no_live_code"
