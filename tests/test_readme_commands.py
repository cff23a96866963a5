"""The README's `fieldcast ...` commands run as written: each one it shows (in code blocks and in
backticks) is run, in README order, by the installed `fieldcast` command against a throw-away SQLite
database, so the documentation cannot drift from the command line again.

Rules, kept here so a reader of a failure knows what was run:
- Placeholders (`<room>`, `<email>`, ...) are filled with values made earlier in the same run (the
  room a `room create` line made) or fresh ones (a new address per `<email>`); an unknown placeholder
  fails the test: add it to `_fill`.
- Optional parts in brackets (`[--orientation landscape] [--demo]`) are checked twice: the line
  without them, and with all of them (in a second throw-away database, so ids do not clash).
- Commands that start a server (`serve`, `demo`) are run with `--help` only: they would not exit.
- A line abbreviated with `...` (`docker exec <id> fieldcast room create ...`) names a command shown
  in full elsewhere; it is not run, and the test checks that the full form is in the README.
- `user create` asks for the password when `--password` is left out: the test types one on stdin.
- `<room>` before any `room create` line makes a room first; `<phone-or-email>` is the last account
  made, `<id>` the last API token made, `<role>` a role. `a\\|b` in a table cell is the markdown
  escape of `a|b`, a choice: the first one is run.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pytest

pytestmark = pytest.mark.timeout(240)  # each command is a fresh process: ~3 s of imports on a busy machine

README = Path(__file__).resolve().parents[1] / "README.md"
SERVERS = {"serve", "demo"}
FENCE = re.compile(r"^```[^\n]*\n(.*?)^```", re.S | re.M)
SPAN = re.compile(r"`([^`\n]+)`")
COMMAND = re.compile(r"(?:^|\s)(fieldcast\s+[a-z].*)$")
OPTIONAL = re.compile(r"\s*\[([^\]]*)\]")
PLACEHOLDER = re.compile(r"<([a-z_-]+)>")
CHOICE = re.compile(r"(?<![<\w-])([a-z][a-z_-]*)(?:\|[a-z][a-z_-]*)+")  # moderator|host -> moderator
TOKEN_MADE = re.compile(r"API token #(\d+)")


def readme_commands(text: str) -> list[str]:
    """Every `fieldcast <word> ...` command line in the README, in order, once each."""
    found: list[tuple[int, str]] = []
    for block in FENCE.finditer(text):
        for offset, line in _lines(block.group(1), block.start(1)):
            command = _command(line.split(" #")[0])  # a trailing shell comment is not an argument
            if command:
                found.append((offset, command))
    prose = FENCE.sub(lambda m: " " * len(m.group(0)), text)  # same offsets, code blocks blanked
    for span in SPAN.finditer(prose):
        command = _command(span.group(1))
        if command:
            found.append((span.start(), command))
    return list(dict.fromkeys(c for _, c in sorted(found)))


def _lines(block: str, start: int) -> list[tuple[int, str]]:
    out = []
    for line in block.splitlines(keepends=True):
        out.append((start, line.strip().removeprefix("$ ")))
        start += len(line)
    return out


def _command(text: str) -> str | None:
    match = COMMAND.search(text.strip())
    return match.group(1).strip() if match else None


@dataclass
class Run:
    """One throw-away database and what the commands run so far have made in it."""

    fieldcast: Path
    database: Path
    made: dict[str, str] = field(default_factory=dict)
    emails: int = 0

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("FIELDCAST_")}
        env["FIELDCAST_DATABASE_URL"] = f"sqlite:///{self.database}"
        return env

    def _fill(self, name: str) -> str:
        if name == "email":
            self.emails += 1
            self.made["account"] = f"readme-{self.emails}@example.com"
            return self.made["account"]
        if name in ("room", "room_id"):
            if "room" not in self.made:  # a line that needs a room before the README made one
                self.run('fieldcast room create readme-room --title "番茄" --brand "农场"')
            return self.made["room"]
        if name == "phone-or-email" and "account" in self.made:
            return self.made["account"]
        if name == "id" and "token" in self.made:
            return self.made["token"]
        if name == "role":
            return "moderator"
        raise AssertionError(f"README placeholder <{name}> has no value in this test: add it to Run._fill")

    def run(self, command: str) -> subprocess.CompletedProcess[str]:
        command = CHOICE.sub(lambda m: m.group(1), command.replace("\\|", "|"))
        argv = shlex.split(PLACEHOLDER.sub(lambda m: self._fill(m.group(1)), command))
        assert argv[0] == "fieldcast"
        if argv[1] in SERVERS:
            argv.append("--help")
        result = subprocess.run([str(self.fieldcast), *argv[1:]], env=self.env(), input="tomato-2026\n",
                                capture_output=True, text=True, timeout=60)
        problem = result.returncode != 0 or "unrecognized arguments" in result.stderr or "invalid choice" in result.stderr
        assert not problem, f"README command failed: {command}\n$ {shlex.join(argv)}\nexit {result.returncode}\n{result.stdout}{result.stderr}"
        if argv[1:3] == ["room", "create"]:
            self.made["room"] = argv[3]
        token = TOKEN_MADE.search(result.stdout)
        if argv[1] == "token" and token:
            self.made["token"] = token.group(1)
        return result


def test_readme_commands_are_found_in_code_blocks_and_table_cells() -> None:
    text = (
        "| create | `fieldcast room create x --title \"t\" [--demo]` (prints it) |\n"
        "```sh\n$ fieldcast token create --role operator   # an operator\nmake demo\n```\n"
        "`urn:fieldcast:device:<id>` and `docker exec <id> fieldcast room create ...`\n"
    )
    assert readme_commands(text) == [
        'fieldcast room create x --title "t" [--demo]',
        "fieldcast token create --role operator",
        "fieldcast room create ...",
    ]


def test_every_fieldcast_command_in_the_readme_runs_as_written(tmp_path: Path) -> None:
    fieldcast = Path(sys.executable).with_name("fieldcast")
    assert fieldcast.exists(), "the `fieldcast` command is not installed in this virtualenv (scripts/setup.sh)"
    commands = readme_commands(README.read_text(encoding="utf-8"))
    full = [c for c in commands if not c.endswith("...")]
    assert any(c.startswith("fieldcast token create") for c in full), commands  # the line that once failed
    main = Run(fieldcast, tmp_path / "readme.db")
    everything = Run(fieldcast, tmp_path / "readme-options.db")
    ran = 0
    for command in commands:
        if command.endswith("..."):
            stem = command.removesuffix("...").strip()
            assert any(c.startswith(stem + " ") for c in full), f"{command!r}: no full form of it in the README"
            continue
        main.run(OPTIONAL.sub("", command))
        if OPTIONAL.search(command):
            everything.run(OPTIONAL.sub(lambda m: " " + m.group(1), command))
        ran += 1
    assert ran >= 5, commands


def test_token_create_and_the_old_spelling_both_make_a_token(tmp_path: Path) -> None:
    run = Run(Path(sys.executable).with_name("fieldcast"), tmp_path / "tokens.db")
    new = run.run("fieldcast token create --role moderator --label mods").stdout
    old = run.run("fieldcast token --role host --label hosts").stdout
    assert "moderator API token #1 (mods)" in new and new.strip().splitlines()[-1].startswith("fc_")
    assert "host API token #2 (hosts)" in old
    given_first = run.run("fieldcast token --label early create").stdout  # options before `create` are kept
    assert "operator API token #3 (early)" in given_first
