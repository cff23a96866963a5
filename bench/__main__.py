"""`python -m bench [--smoke] [name ...]`: run the benchmarks (all by default); each prints
`name: value` lines. Each runs in its own process, so one module's set-up (a patched decoder, a
changed global) never leaks into the next. The run fails (exit 1, one line per problem) if a
benchmark fails or prints one of its declared figures wrong: `POSITIVE` ones as 0, `ZERO` ones
(losses) as anything else. `--smoke` runs each at its tiny `--smoke` size: seconds, for CI; its
figures only show that every measured path works, they are not measurements.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import os
import signal
import subprocess
import sys
import threading
import time

from .checks import figures, problems

MODULES = ["composite", "pipeline", "viewers", "latency", "qa", "trace", "testimonials", "commerce", "mod_console", "chat", "security"]
SMOKE_TIMEOUT_S = 180.0  # per benchmark: a hung smoke run is a failure, not a stuck CI


def run(module: str, smoke: bool, timeout: float | None = None) -> tuple[int | None, list[str]]:
    """Run `python -m <module> [--smoke]`, echoing its output; (exit code, or None if it ran past
    `timeout` and was stopped; the lines it printed)."""
    command = [sys.executable, "-m", module, *(["--smoke"] if smoke else [])]
    # Its own process group: stopping it also stops the servers and workers it started.
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, text=True, bufsize=1, start_new_session=True)
    timed_out = threading.Event()

    def stop() -> None:
        timed_out.set()
        _kill_group(proc)

    timer = threading.Timer(timeout, stop) if timeout is not None else None
    lines = []
    try:
        if timer is not None:
            timer.start()
        assert proc.stdout is not None
        for line in proc.stdout:
            print(line, end="", flush=True)
            lines.append(line.rstrip("\n"))
        code = proc.wait()
    finally:
        if timer is not None:
            timer.cancel()
        if proc.poll() is None:  # interrupted (Ctrl-C): leave nothing running
            _kill_group(proc)
    return (None if timed_out.is_set() else code), lines


def _kill_group(proc: subprocess.Popen[str]) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)


def check(name: str, smoke: bool, package: str = "bench") -> list[str]:
    """Run one benchmark and return what is wrong with its run (empty when it is fine)."""
    module = importlib.import_module(f"{package}.{name}")
    positive: tuple[str, ...] = getattr(module, "POSITIVE", ())
    if not positive:
        return [f"bench.{name}: declares no POSITIVE figures, so nothing would notice it measuring nothing"]
    started = time.monotonic()
    code, lines = run(f"{package}.{name}", smoke, SMOKE_TIMEOUT_S if smoke else None)
    if code is None:
        return [f"bench.{name}: still running after {SMOKE_TIMEOUT_S:.0f} s; stopped"]
    if code != 0:
        return [f"bench.{name}: failed (exit code {code}); its error is above"]
    found = problems(name, figures(lines), positive, getattr(module, "ZERO", ()))
    print(f"# bench.{name}: {time.monotonic() - started:.1f} s", flush=True)
    return found


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench", description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--smoke", action="store_true", help="every benchmark at a tiny size (CI)")
    parser.add_argument("names", nargs="*", metavar="name", help=f"any of: {', '.join(MODULES)}")
    args = parser.parse_args()
    for name in args.names:
        if name not in MODULES:
            raise SystemExit(f"unknown benchmark {name!r}; choose from {', '.join(MODULES)}")
    failed: list[str] = []
    for name in args.names or MODULES:
        print(f"# bench.{name}{' (smoke)' if args.smoke else ''}", flush=True)
        failed += check(name, args.smoke)
    if failed:
        print("\n".join(["# benchmarks failed:", *failed]), file=sys.stderr, flush=True)
        raise SystemExit(1)


if __name__ == "__main__":
    main()
