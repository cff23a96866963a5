"""A real Fieldcast server in a child process, for benchmarks that measure it from outside."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class ServerProcess:
    proc: subprocess.Popen[bytes]
    base: str
    env: dict[str, str]

    def stop(self) -> None:
        self.proc.send_signal(signal.SIGINT if os.environ.get("BENCH_PYSPY") else signal.SIGTERM)
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()


def _env(db: Path, port: int) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("FIELDCAST_")}
    env.update(
        FIELDCAST_DATABASE_URL=f"sqlite:///{db}",
        FIELDCAST_PORT=str(port),
        FIELDCAST_HOST="127.0.0.1",
        FIELDCAST_ICE_INCLUDE_LOOPBACK="true",
        FIELDCAST_LOG_LEVEL="WARNING",
        # The server's event loop (uvloop unless BENCH_EVENT_LOOP=asyncio), to compare the two.
        FIELDCAST_EVENT_LOOP=os.environ.get("BENCH_EVENT_LOOP", "uvloop"),
    )
    return env


def create_room(env: dict[str, str], room_id: str, *extra: str) -> str:
    out = subprocess.run(
        [sys.executable, "-m", "server", "room", "create", room_id, "--title", "高山有机番茄 现摘现发",
         "--brand", "青禾农场", *extra],
        env=env, check=True, capture_output=True, text=True,
    ).stdout
    m = re.search(r"stream key \(shown once\): (\S+)", out)
    assert m, out
    return m.group(1)


def start_server(
    rooms: list[tuple[str, list[str]]], settings: dict[str, str] | None = None
) -> tuple[ServerProcess, dict[str, str]]:
    """Start a server with these rooms (id, extra CLI args) and FIELDCAST_* settings; returns it
    and each room's key."""
    tmp = Path(tempfile.mkdtemp(prefix="fieldcast-bench-"))
    port = free_port()
    env = _env(tmp / "bench.db", port)
    env.update(settings or {})
    keys = {room_id: create_room(env, room_id, *extra) for room_id, extra in rooms}
    command = [sys.executable, "-m", "server", "serve"]
    if profile := os.environ.get("BENCH_PYSPY"):
        # The server's stacks for the whole run, collapsed (flamegraph.pl input), 100 samples a second.
        spy = Path(sys.executable).with_name("py-spy")
        if not spy.exists():
            raise SystemExit("BENCH_PYSPY needs py-spy in the venv: .venv/bin/pip install py-spy")
        command = [str(spy), "record", "-r", "100", "-f", "raw", "-o", profile, "--", *command]
    proc = subprocess.Popen(command, env=env)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(base + "/healthz", timeout=1) as resp:
                if resp.status == 200:
                    break
        except OSError:
            time.sleep(0.2)
    else:
        proc.kill()
        raise RuntimeError("server did not come up")
    return ServerProcess(proc, base, env), keys
