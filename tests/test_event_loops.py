"""The async tests run on uvloop, as `fieldcast serve` does, and `both_loops` tests on each loop:
a change to tests/conftest.py that quietly put the suite back on the standard loop fails here."""

from __future__ import annotations

import asyncio
import os
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
    async_tests = ("test_an_async_test_runs", "test_its_async_fixtures", "test_a_both_loops_test")
    assert {i for i in ids if i.startswith(async_tests)} == {
        "test_an_async_test_runs_on_uvloop_by_default",
        "test_its_async_fixtures_share_its_uvloop",
        "test_a_both_loops_test_runs_on_the_loop_its_id_names[uvloop]",
        "test_a_both_loops_test_runs_on_the_loop_its_id_names[asyncio]",
    }


def test_an_async_fixture_in_a_sync_test_is_refused_at_collection(tmp_path: Path) -> None:
    """pytest-asyncio would run such a fixture on the standard loop, unnoticed."""
    (tmp_path / "conftest.py").write_text("from tests.conftest import *  # noqa: F403\n")
    (tmp_path / "test_sync.py").write_text(
        "import pytest\n\n"
        "@pytest.fixture\nasync def opened() -> int:\n    return 1\n\n"
        "def test_sync(opened: int) -> None:\n    assert opened == 1\n"
    )
    out = subprocess.run(
        [sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider",
         "-o", "asyncio_mode=auto", str(tmp_path)],
        cwd=tmp_path, env={**os.environ, "PYTHONPATH": str(ROOT)}, capture_output=True, text=True, timeout=60,
    )
    assert out.returncode == pytest.ExitCode.USAGE_ERROR, out.stdout + out.stderr
    assert "test_sync.py::test_sync: async fixture 'opened' in a sync test" in out.stderr
