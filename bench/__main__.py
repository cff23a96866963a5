"""`python -m bench [name ...]`: run the benchmarks (all by default); each prints `name: value` lines."""

from __future__ import annotations

import importlib
import sys

MODULES = ["composite", "pipeline", "viewers", "latency", "qa", "trace", "testimonials", "commerce", "mod_console", "chat", "security"]


def main() -> None:
    wanted = sys.argv[1:] or MODULES
    for name in wanted:
        if name not in MODULES:
            raise SystemExit(f"unknown benchmark {name!r}; choose from {', '.join(MODULES)}")
        print(f"# bench.{name}", flush=True)
        # Each module parses its own options: it must not see the names given here.
        sys.argv = [f"bench.{name}"]
        importlib.import_module(f"bench.{name}").main()
        sys.stdout.flush()


if __name__ == "__main__":
    main()
