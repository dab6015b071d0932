"""Start-up: a command loads only what its run needs (the session 2 start-up task).

Every cron run and every ``| mailbounce parse-bounces -`` MTA pipe (one process per bounce)
pays for what ``mailbounce.cli`` imports. Each case runs the real entry point in a child
process and lists the modules it had loaded when it exited. No timings: the figures are
measured by ``benchmarks/startup_time.py``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
BOUNCE = ROOT / "tests" / "data" / "bounces" / "postfix-01.eml"
CAMPAIGN = ROOT / "examples" / "campaign.yaml"

# Run ``mailbounce ARGV`` through cli.main() and write sys.modules (at exit) to a file.
PROBE = """
import atexit, json, sys
out, argv = sys.argv[1], json.loads(sys.argv[2])
def dump():
    with open(out, "w") as handle:
        json.dump(sorted(sys.modules), handle)
atexit.register(dump)
sys.argv = ["mailbounce", *argv]
from mailbounce.cli import main
main()
"""

# What no command needs just to start: each command's library, and the heavy third parties.
LIBRARIES = (
    "mailbounce.bounces",
    "mailbounce.parsing",
    "mailbounce.checks",
    "mailbounce.sending",
    "mailbounce.compose",
    "mailbounce.store",
    "mailbounce.report",
    "mailbounce.advice",
    "mailbounce.people",
    "mailbounce.demo",
)
THIRD_PARTIES = (
    "email_validator",
    "dns",
    "jinja2",
    "rich",
    "yaml",
    "tabulate",
    "pydantic",
    "aiosmtpd",
)
HEAVY = LIBRARIES + THIRD_PARTIES


def _loaded(modules: list[str], forbidden: tuple[str, ...]) -> list[str]:
    return sorted(
        name for name in modules if any(name == f or name.startswith(f + ".") for f in forbidden)
    )


def _run(tmp_path: Path, argv: list[str], stdin: bytes = b"") -> tuple[int, str, list[str]]:
    out = tmp_path / "modules.json"
    env = dict(os.environ, MAILBOUNCE_DB=str(tmp_path / "startup.db"))
    env.pop("MAILBOUNCE_CONFIG", None)
    done = subprocess.run(
        [sys.executable, "-c", PROBE, str(out), json.dumps(argv)],
        input=stdin,
        capture_output=True,
        env=env,
        cwd=tmp_path,
        check=False,
    )
    modules = json.loads(out.read_text(encoding="utf-8"))
    return done.returncode, done.stdout.decode("utf-8"), modules


def test_importing_the_cli_loads_no_library(tmp_path: Path) -> None:
    code = "import json, sys, mailbounce.cli; print(json.dumps(sorted(sys.modules)))"
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, check=True, cwd=tmp_path
    )
    assert _loaded(json.loads(done.stdout), HEAVY) == []


@pytest.mark.parametrize(
    "argv",
    [
        ["--help"],
        ["--version"],
        ["send", "--help"],
        ["parse-bounces", "--help"],
        ["check", "addresses", "--help"],
        ["report", "--help"],
    ],
    ids=" ".join,
)
def test_help_and_version_load_no_library(tmp_path: Path, argv: list[str]) -> None:
    code, _, modules = _run(tmp_path, argv)
    assert code == 0
    # Piped, help is plain text: Rich (typer's help boxes) is for a terminal only.
    assert _loaded(modules, HEAVY) == []


def test_parse_bounces_from_stdin_loads_only_the_bounce_analysis(tmp_path: Path) -> None:
    code, stdout, modules = _run(tmp_path, ["parse-bounces", "-"], BOUNCE.read_bytes())
    assert code == 0
    assert [json.loads(line)["reason"] for line in stdout.splitlines()] == [
        "userunknown",
        "mailboxfull",
    ]
    assert "mailbounce.parsing" in modules
    unneeded = (
        "mailbounce.checks",
        "mailbounce.sending",
        "mailbounce.compose",
        "mailbounce.report",
        "mailbounce.advice",
        *THIRD_PARTIES,
    )
    assert _loaded(modules, unneeded) == []


def test_send_dry_run_loads_no_bounce_analysis_nor_checks(tmp_path: Path) -> None:
    code, stdout, modules = _run(tmp_path, ["send", "--dry-run", str(CAMPAIGN)])
    assert code == 0
    assert len(stdout.splitlines()) == 26  # the examples campaign: 26 messages composed
    assert "mailbounce.sending" in modules
    unneeded = (
        "mailbounce.bounces",
        "mailbounce.parsing",
        "mailbounce.checks",
        "mailbounce.report",
        "mailbounce.advice",
        "email_validator",  # every address of the example list takes the fast path
        "dns",
        "rich",
        "tabulate",
        "pydantic",
        "aiosmtpd",
    )
    assert _loaded(modules, unneeded) == []


COMMANDS = (
    "send",
    "sandbox",
    "demo",
    "parse-bounces",
    "check",
    "report",
    "explain",
    "contact",
    "lists",
    "resubscribe",
    "unsubscribe",
    "forget",
    "import",
)
CHECK_COMMANDS = ("addresses", "content", "domain", "campaign")


def _listed_commands(help_text: str) -> set[str]:
    listed, in_commands = set(), False
    for line in help_text.splitlines():
        if line.startswith("Commands:"):
            in_commands = True
        elif in_commands and line.startswith("  ") and line.strip():
            listed.add(line.split()[0])
    return listed


def test_help_still_lists_every_command(tmp_path: Path) -> None:
    _, stdout, _ = _run(tmp_path, ["--help"])
    assert _listed_commands(stdout) == set(COMMANDS)
    _, stdout, _ = _run(tmp_path, ["check", "--help"])
    assert _listed_commands(stdout) == set(CHECK_COMMANDS)


def test_help_at_a_terminal_keeps_the_rich_layout(tmp_path: Path) -> None:
    import pty

    controller, terminal = pty.openpty()
    env = dict(os.environ, COLUMNS="100", TERM="dumb")
    with subprocess.Popen(
        [sys.executable, "-m", "mailbounce", "send", "--help"],
        stdout=terminal,
        stderr=subprocess.DEVNULL,
        env=env,
        cwd=tmp_path,
    ) as child:
        os.close(terminal)
        chunks = []
        while True:
            try:
                chunk = os.read(controller, 65536)
            except OSError:  # EIO: the child closed the terminal
                break
            if not chunk:
                break
            chunks.append(chunk)
        assert child.wait() == 0
    os.close(controller)
    shown = b"".join(chunks).decode("utf-8", "replace")
    assert "Options" in shown
    assert "╭" in shown  # Rich's panels, as before the start-up work
    assert "--dry-run" in shown
