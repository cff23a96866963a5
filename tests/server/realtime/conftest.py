"""Markers and shared fixtures of the realtime tests."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from .chat_peers import Peer


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "cast(*names): the signed-in accounts a Q&A test connects")


@pytest.fixture
async def peers() -> AsyncIterator[list[Peer]]:
    """Socket.IO peers a test made; each is disconnected after it."""
    made: list[Peer] = []
    yield made
    for peer in made:
        await peer.disconnect()
