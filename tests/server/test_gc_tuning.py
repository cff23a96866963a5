"""The server freezes what start-up allocated and collects its youngest generation less often."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from server.gc_tuning import YOUNG_THRESHOLD, tune_gc


@pytest.fixture
def restore_gc() -> Iterator[None]:
    before = gc.get_threshold()
    yield
    gc.unfreeze()
    gc.set_threshold(*before)


async def test_startup_freezes_and_raises_the_threshold(restore_gc: None) -> None:
    gc.unfreeze()
    app = web.Application()
    tune_gc(app)
    assert gc.get_freeze_count() == 0
    server = TestServer(app)
    await server.start_server()
    try:
        assert gc.get_freeze_count() > 1000
        assert gc.get_threshold()[0] == YOUNG_THRESHOLD
    finally:
        await server.close()
