"""The benchmark runner (`python -m bench [--smoke]`) against small benchmark modules of its own
kind, run as it runs the real ones (a process each): it must fail, naming the bench and the figure,
when one raises, hangs, or prints a figure that must be positive as 0 or a loss as non-zero."""

from __future__ import annotations

import secrets
import textwrap
from pathlib import Path

import psutil
import pytest

import bench.__main__ as runner

BENCH = '''
from __future__ import annotations

import sys

POSITIVE = ("readings_per_s", "proof_ms_*")
ZERO = ("readings_lost",)


def main() -> None:
    smoke = "--smoke" in sys.argv[1:]
{body}


if __name__ == "__main__":
    main()
'''


@pytest.fixture
def package(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = tmp_path / f"fakebench_{secrets.token_hex(4)}"  # a fresh name: imported modules are cached
    root.mkdir()
    (root / "__init__.py").write_text("")
    monkeypatch.syspath_prepend(str(tmp_path))  # the runner reads the declarations here
    monkeypatch.setenv("PYTHONPATH", str(tmp_path))  # and runs the module in a child process
    return root


def write(package: Path, name: str, body: str) -> None:
    (package / f"{name}.py").write_text(BENCH.format(body=textwrap.indent(textwrap.dedent(body), "    ")))


def test_a_bench_printing_its_figures_passes_and_runs_at_its_smoke_size(package: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write(package, "good", '''
        print("# readings_per_s: what it counts")
        print(f"readings_per_s: {50 if smoke else 5000}")
        print("readings_lost: 0")
        print(f"proof_ms_{100 if smoke else 1000000}: 0.0120")
    ''')
    assert runner.check("good", smoke=True, package=package.name) == []
    assert "readings_per_s: 50" in capsys.readouterr().out  # echoed as it ran, at the smoke size


@pytest.mark.parametrize(("body", "problem"), [
    ('print("readings_per_s: 0"); print("readings_lost: 0"); print("proof_ms_100: 0.01")',
     "bench.broken: figure readings_per_s must be positive, printed 0"),
    ('print("readings_per_s: nan"); print("readings_lost: 0"); print("proof_ms_100: 0.01")',
     "bench.broken: figure readings_per_s must be positive, printed nan"),
    ('print("readings_per_s: 4000"); print("readings_lost: 48000"); print("proof_ms_100: 0.01")',
     "bench.broken: figure readings_lost must be zero, printed 48000"),
    ('print("readings_per_s: 4000"); print("readings_lost: 0")',
     "bench.broken: figure proof_ms_* was not printed"),
    ('print("readings_per_s: 4000"); raise TimeoutError("no first frame")',
     "bench.broken: failed (exit code 1); its error is above"),
])
def test_a_broken_bench_fails_the_run_naming_the_bench_and_the_figure(package: Path, body: str, problem: str) -> None:
    write(package, "broken", body)
    assert runner.check("broken", smoke=True, package=package.name) == [problem]


def test_a_bench_that_hangs_is_stopped_with_everything_it_started(
    package: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pid_file = tmp_path / "server.pid"
    write(package, "hangs", f'''
        import subprocess, time
        server = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
        open({str(pid_file)!r}, "w").write(str(server.pid))
        time.sleep(600)
    ''')
    monkeypatch.setattr(runner, "SMOKE_TIMEOUT_S", 3.0)
    assert runner.check("hangs", smoke=True, package=package.name) == ["bench.hangs: still running after 3 s; stopped"]
    server = psutil.Process(int(pid_file.read_text()))
    _, alive = psutil.wait_procs([server], timeout=10)  # SIGKILL has been sent; the kernel finishes it
    assert not alive


def test_a_bench_declaring_no_positive_figure_is_refused(package: Path) -> None:
    (package / "silent.py").write_text("def main() -> None:\n    pass\n")
    assert runner.check("silent", smoke=True, package=package.name) == [
        "bench.silent: declares no POSITIVE figures, so nothing would notice it measuring nothing"]
