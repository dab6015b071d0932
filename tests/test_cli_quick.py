"""``parse-bounces`` read without Typer (``cli/quick.py``) runs with the very values Typer
would give the command, and leaves every other command line to Typer."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from mailbounce.cli import app, bounces_run
from mailbounce.cli.quick import quick_command

ROOT = Path(__file__).resolve().parent.parent
BOUNCE = ROOT / "tests" / "data" / "bounces" / "postfix-01.eml"

READ_QUICKLY = [
    ["parse-bounces", "a.mbox"],
    ["parse-bounces", "-"],
    ["--db", "x.db", "parse-bounces", "a.mbox", "--format", "jsonl"],
    ["--db=x.db", "--config", "c.yaml", "-q", "parse-bounces", "a", "b", "-"],
    ["-v", "--verbose", "-v", "parse-bounces", "--jobs", "2", "a.mbox"],
    ["--quiet", "-v", "parse-bounces", "-j", "3", "a", "--jobs=4", "--strict", "b"],
    ["parse-bounces", "--no-store", "--format=csv", "-f", "table", "a"],
    ["parse-bounces", "--format", "json", "--move-to", "Done", "imaps://u@h/INBOX"],
    ["parse-bounces", "--imap-ca-file", "ca.pem", "--move-to=Old", "imaps://u@h/INBOX"],
    ["--db", "parse-bounces", "parse-bounces", "parse-bounces"],
    ["--config=c.yaml", "--db", "d.db", "--db", "e.db", "parse-bounces", "-j", "012", "x"],
]

LEFT_TO_TYPER = [
    [],
    ["--help"],
    ["-h"],
    ["--version"],
    ["parse-bounces"],
    ["parse-bounces", "--help"],
    ["parse-bounces", "-h", "a"],
    ["send", "c.yaml"],
    ["report"],
    ["-qv", "parse-bounces", "a"],
    ["parse-bounces", "-j2", "a"],
    ["parse-bounces", "-fjsonl", "a"],
    ["parse-bounces", "--jobs", "0", "a"],
    ["parse-bounces", "--jobs", "two", "a"],
    ["parse-bounces", "--jobs", "+2", "a"],
    ["parse-bounces", "--jobs", "٣", "a"],
    ["parse-bounces", "--format", "JSONL", "a"],
    ["parse-bounces", "--format", "xml", "a"],
    ["parse-bounces", "--format"],
    ["parse-bounces", "--db", "x.db", "a"],
    ["parse-bounces", "--", "a"],
    ["parse-bounces", "--no-store=1", "a"],
    ["parse-bounces", "--move-to", "-", "a"],
    ["parse-bounces", "--move-to=", "a"],
    ["--db", "", "parse-bounces", "a"],
    ["a.mbox", "parse-bounces"],
    ["parse-bounces", "a", "--unknown"],
    ["parse-bounces", "-x", "a"],
]


def _called(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    calls: list[dict[str, Any]] = []

    def fake(options: Any, sources: Any, **kwargs: Any) -> bool:
        calls.append(
            {
                "db": options.db,
                "config": options.config,
                "verbosity": options.verbosity,
                "sources": list(sources),
                **kwargs,
            }
        )
        return False

    monkeypatch.setattr(bounces_run, "run_parse_bounces", fake)
    return calls


@pytest.mark.parametrize("argv", READ_QUICKLY, ids=" ".join)
def test_quick_reading_gives_the_values_typer_gives(
    argv: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("MAILBOUNCE_DB", raising=False)
    monkeypatch.delenv("MAILBOUNCE_CONFIG", raising=False)
    calls = _called(monkeypatch)
    result = CliRunner().invoke(app, argv)
    assert result.exit_code == 0, result.output
    run = quick_command(argv, {})
    assert run is not None
    assert run() is False
    typer_call, quick_call = calls
    assert quick_call == typer_call


@pytest.mark.parametrize("argv", LEFT_TO_TYPER, ids=lambda argv: " ".join(argv) or "none")
def test_anything_else_is_left_to_typer(argv: list[str]) -> None:
    assert quick_command(argv, {}) is None


def test_a_completion_request_is_left_to_typer() -> None:
    assert quick_command(["parse-bounces", "a"], {"_MAILBOUNCE_COMPLETE": "bash_complete"}) is None


def _run(tmp_path: Path, *argv: str) -> subprocess.CompletedProcess[bytes]:
    """``python -m mailbounce ARGV``, printing on stderr at exit whether Typer was loaded."""
    code = (
        "import atexit, sys; atexit.register(lambda: print('typer' in sys.modules, "
        "file=sys.stderr)); sys.argv[0] = 'mailbounce'; from mailbounce.cli import main; main()"
    )
    env = {k: v for k, v in os.environ.items() if k != "MAILBOUNCE_CONFIG"}
    return subprocess.run(
        [sys.executable, "-c", code, *argv], capture_output=True, cwd=tmp_path, env=env, check=False
    )


def test_parse_bounces_runs_without_typer_and_exits_as_with_it(tmp_path: Path) -> None:
    mbox = tmp_path / "b.mbox"
    mbox.write_bytes(b"From MAILER-DAEMON Fri Nov 20 10:00:00 2026\n" + BOUNCE.read_bytes())
    done = _run(tmp_path, "--db", "t.db", "parse-bounces", str(mbox), "--format", "jsonl")
    assert done.returncode == 0, done.stderr.decode()
    lines = done.stdout.decode().splitlines()
    assert [json.loads(line)["reason"] for line in lines] == ["userunknown", "mailboxfull"]
    assert done.stderr.decode().splitlines()[-1] == "False"
    # --strict with an unrecognised bounce: exit 3, as Typer's command gives.
    other = tmp_path / "not-a-bounce.eml"
    other.write_bytes(
        b"From: MAILER-DAEMON@relay.example\nTo: news@asso.example\nSubject: Undelivered"
        b" Mail Returned to Sender\n\nSomething went wrong, somewhere.\n"
    )
    command = ["-q", "--db", "t.db", "parse-bounces", "--strict"]
    strict = _run(tmp_path, *command, str(other))
    typer_strict = _run(tmp_path, *command, "--", str(other))  # "--": read by Typer
    assert strict.returncode == typer_strict.returncode == 3
    assert (strict.stderr.decode().splitlines()[-1], typer_strict.stderr.decode()[-5:]) == (
        "False",
        "True\n",
    )
    # A missing source: the library's one-line error and its exit code.
    missing = _run(tmp_path, "--db", "t.db", "parse-bounces", "nowhere.mbox")
    assert missing.returncode == 1
    assert missing.stderr.decode().startswith("mailbounce: ")
    assert missing.stderr.decode().splitlines()[-1] == "False"
    # A usage mistake goes to Typer: its message and exit 2.
    wrong = _run(tmp_path, "parse-bounces", "--jobs", "0", str(mbox))
    assert wrong.returncode == 2
    assert wrong.stderr.decode().splitlines()[-1] == "True"


def test_quick_knows_every_option_typer_declares() -> None:
    """A new option of ``parse-bounces`` or a new global option is taught to ``cli/quick.py``
    too (else every command line using it would quietly pay for Typer's start)."""
    from typer.main import get_command

    from mailbounce.cli import quick

    group = get_command(app)
    command = group.commands[quick.COMMAND]  # type: ignore[attr-defined]

    def options(params: Any) -> set[str]:
        return {name for p in params if p.param_type_name == "option" for name in p.opts}

    global_options = options(group.params) - {"--help", "--version"}
    assert global_options == set(quick.GLOBAL_VALUES) | set(quick.GLOBAL_FLAGS)
    assert options(command.params) - {"--help"} == set(quick.VALUES) | set(quick.FLAGS)
