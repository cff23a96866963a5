"""Markers of the realtime tests."""

from __future__ import annotations

import pytest


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "cast(*names): the signed-in accounts a Q&A test connects")
