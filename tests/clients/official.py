"""The official Socket.IO client (npm socket.io-client, pinned in package.json beside this file),
run under Node by sio_driver.mjs against a running app: the client browsers and Node apps use,
which nobody here wrote. `scripts/setup.sh test` installs it (npm ci)."""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

HERE = Path(__file__).parent
DRIVER = HERE / "sio_driver.mjs"

# The three ways the client connects: its default (long-polling, then the upgrade to websocket),
# websocket only, long-polling only (as in a messaging app's browser that cannot upgrade).
TRANSPORTS: dict[str, list[str]] = {
    "default": ["polling", "websocket"],
    "websocket": ["websocket"],
    "polling": ["polling"],
}


@dataclass
class Run:
    """What the client saw, line by line (see sio_driver.mjs)."""

    lines: list[dict[str, Any]]
    stderr: str = ""
    acks: dict[tuple[int, int], list[Any] | None] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for line in self.lines:
            if line["type"] == "ack":
                self.acks[(line["batch"], line["index"])] = line["args"]
            elif line["type"] == "no_ack":
                self.acks[(line["batch"], line["index"])] = None

    def first(self, kind: str) -> dict[str, Any]:
        found = next((line for line in self.lines if line["type"] == kind), None)
        assert found is not None, f"no {kind!r} line; the client printed {self.lines}, stderr: {self.stderr}"
        return found

    def reply(self, batch: int, index: int = 0) -> Any:
        """The ack's first argument (what a handler returned); fails if no ack came."""
        args = self.acks.get((batch, index))
        assert args is not None, f"no ack for batch {batch} #{index}; the client printed {self.lines}"
        return args[0] if args else None

    def replies(self, batch: int) -> list[Any]:
        return [self.reply(batch, i) for b, i in sorted(self.acks) if b == batch]

    def events(self, name: str) -> list[list[Any]]:
        return [line["args"] for line in self.lines if line["type"] == "event" and line["event"] == name]


def emit(event: str, *args: Any) -> dict[str, Any]:
    return {"event": event, "args": list(args)}


def binary(data: bytes) -> dict[str, str]:
    """An argument the client sends as a Buffer (a binary attachment)."""
    import base64

    return {"$binary": base64.b64encode(data).decode()}


async def run_client(
    url: str,
    batches: list[list[dict[str, Any]]],
    *,
    transport: str = "default",
    cookies: dict[str, str] | None = None,
    namespace: str = "/",
    listen: tuple[str, ...] = (),
    ack_timeout_s: float = 5.0,
    timeout_s: float = 60.0,
) -> Run:
    """Connects the official client, emits each batch in one tick and waits for its acks."""
    modules = HERE / "node_modules" / "socket.io-client"
    assert modules.is_dir(), f"{modules} is missing: run scripts/setup.sh test (npm ci in {HERE})"
    scenario = {
        "url": url,
        "namespace": namespace,
        "transports": TRANSPORTS[transport],
        "cookie": "; ".join(f"{k}={v}" for k, v in (cookies or {}).items()),
        "listen": list(listen),
        "ack_timeout_ms": int(ack_timeout_s * 1000),
        "batches": batches,
    }
    proc = await asyncio.create_subprocess_exec(
        "node", str(DRIVER),
        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        cwd=HERE,
    )
    try:
        # ensure_ascii (the default) writes a lone surrogate as the escape "\ud83c", which
        # JavaScript's JSON.parse reads back as the same lone UTF-16 unit.
        out, err = await asyncio.wait_for(proc.communicate(json.dumps(scenario).encode()), timeout_s)
    except TimeoutError:
        proc.kill()
        await proc.wait()
        raise
    stderr = err.decode(errors="replace")
    assert proc.returncode == 0, f"the client exited with {proc.returncode}: {stderr}"
    return Run([json.loads(line) for line in out.decode().splitlines() if line.strip()], stderr)
