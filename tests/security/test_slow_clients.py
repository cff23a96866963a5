"""Slow and idle connections are closed: `fieldcast serve` as operators run it (its own process),
and a real socket that dribbles a request head or a body one byte at a time."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

pytestmark = pytest.mark.timeout(90)

HEADER_TIMEOUT_S = 1.5
BODY_TIMEOUT_S = 1.5
DRIBBLE_EVERY_S = 0.25  # far faster than either deadline: only the total time can stop it
SLACK_S = 4.0  # a busy machine's scheduling, on top of the deadline; still far below GIVE_UP_S
GIVE_UP_S = 12.0  # a server without deadlines keeps the connection this long and more


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def port(tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    tmp: Path = tmp_path_factory.mktemp("slow")
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("FIELDCAST_")}
    env.update(
        FIELDCAST_DATABASE_URL=f"sqlite:///{tmp / 'serve.db'}", FIELDCAST_PORT=str(port), FIELDCAST_HOST="127.0.0.1",
        FIELDCAST_HTTP_HEADER_TIMEOUT_S=str(HEADER_TIMEOUT_S), FIELDCAST_HTTP_BODY_TIMEOUT_S=str(BODY_TIMEOUT_S),
    )
    log = tmp / "serve.log"
    with log.open("wb") as out:
        proc = subprocess.Popen([sys.executable, "-m", "server", "serve"], env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 30
        while b"event loop:" not in log.read_bytes() or not _answers(port):
            assert proc.poll() is None, log.read_text()
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.1)
        yield port
    finally:
        proc.terminate()
        proc.wait(15)


def _answers(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1) as s:
            s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            return s.recv(12).startswith(b"HTTP/1.1 200")
    except OSError:
        return False


def dribble(port: int, head: bytes, tail: bytes, give_up_after_s: float) -> tuple[float, bytes]:
    """Send `head`, then `tail` one byte every DRIBBLE_EVERY_S (repeating it while the server listens).
    Returns how long the server kept the connection and what it answered."""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        started = time.monotonic()
        s.sendall(head)
        s.settimeout(DRIBBLE_EVERY_S)
        answer = b""
        i = 0
        while time.monotonic() - started < give_up_after_s:
            try:
                s.sendall(tail[i % len(tail) : i % len(tail) + 1])
            except OSError:  # closed (reset) by the server
                break
            i += 1
            try:
                chunk = s.recv(4096)
            except TimeoutError:
                continue
            except OSError:
                break
            if not chunk:
                break
            answer += chunk
        else:
            raise AssertionError(f"the server still held a dribbling connection after {give_up_after_s} s")
        try:  # whatever the server wrote before closing
            s.settimeout(1)
            while chunk := s.recv(4096):
                answer += chunk
        except OSError:
            pass
        return time.monotonic() - started, answer


def test_a_request_head_dribbled_byte_by_byte_is_cut_off(port: int) -> None:
    held, _ = dribble(port, b"GET /healthz HTTP/1.1\r\nHost: x\r\n", b"X-Slow: aaaaaaaaaaaaaaaaaaaaaaaa\r\n", GIVE_UP_S)
    assert held < HEADER_TIMEOUT_S + SLACK_S, held


def test_an_idle_connection_that_sends_nothing_is_closed(port: int) -> None:
    with socket.create_connection(("127.0.0.1", port), timeout=GIVE_UP_S) as s:
        started = time.monotonic()
        assert s.recv(1) == b""
        assert time.monotonic() - started < HEADER_TIMEOUT_S + SLACK_S


def test_a_body_dribbled_byte_by_byte_gets_a_408_and_is_cut_off(port: int) -> None:
    head = (b"POST /api/auth/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b"Content-Length: 10000\r\n\r\n")
    held, answer = dribble(port, head, b'{"identifier": "' + b"a" * 200, GIVE_UP_S)
    assert held < BODY_TIMEOUT_S + SLACK_S, held
    assert answer.startswith(b"HTTP/1.1 408"), answer[:200]
    assert b'"body_timeout"' in answer
    # The server is fine: the next client is answered at once.
    assert _answers(port)
