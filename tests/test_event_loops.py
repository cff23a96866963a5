"""The async tests run on uvloop, as `fieldcast serve` does, and `both_loops` tests on each loop:
a change to tests/conftest.py that quietly put the suite back on the standard loop fails here."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from pathlib import Path

import pytest
import uvloop

ROOT = Path(__file__).resolve().parent.parent


async def test_an_async_test_runs_on_uvloop_by_default() -> None:
    assert isinstance(asyncio.get_running_loop(), uvloop.Loop)


@pytest.fixture
async def fixture_loop() -> asyncio.AbstractEventLoop:
    return asyncio.get_running_loop()


async def test_its_async_fixtures_share_its_uvloop(fixture_loop: asyncio.AbstractEventLoop) -> None:
    assert fixture_loop is asyncio.get_running_loop()
    assert isinstance(fixture_loop, uvloop.Loop)


@pytest.mark.both_loops
async def test_a_both_loops_test_runs_on_the_loop_its_id_names(
    request: pytest.FixtureRequest, fixture_loop: asyncio.AbstractEventLoop
) -> None:
    loop = asyncio.get_running_loop()
    assert fixture_loop is loop
    if request.node.name.endswith("[uvloop]"):
        assert isinstance(loop, uvloop.Loop)
    else:
        assert request.node.name.endswith("[asyncio]")
        assert isinstance(loop, asyncio.BaseEventLoop) and not isinstance(loop, uvloop.Loop)


def test_both_loops_makes_two_tests_and_the_default_one() -> None:
    """Collected in a separate pytest, so that selecting one of these tests with -k still checks
    that the other variant exists."""
    out = subprocess.run(
        [sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider",
         "tests/test_event_loops.py"],
        cwd=ROOT, capture_output=True, text=True, timeout=60,
    )
    assert out.returncode == 0, out.stdout + out.stderr
    ids = {line.split("::", 1)[1] for line in out.stdout.splitlines() if "::" in line}
    assert ids == {
        "test_an_async_test_runs_on_uvloop_by_default",
        "test_its_async_fixtures_share_its_uvloop",
        "test_a_both_loops_test_runs_on_the_loop_its_id_names[uvloop]",
        "test_a_both_loops_test_runs_on_the_loop_its_id_names[asyncio]",
        "test_both_loops_makes_two_tests_and_the_default_one",
    }
