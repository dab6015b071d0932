"""Start-up cost of ``mailbounce`` commands, beside a bare Python start in the same run.

Each command runs as a child process, ``--runs`` times; prints the best wall time and the best
CPU time (user + system of the child, from ``os.times()``), and the same for ``python -c pass``
(the floor no command can go under). Commands measured:

- ``mailbounce --help`` piped (plain text) and at a terminal (a pseudo-terminal: Rich's
  boxes), and ``--version``;
- ``send --dry-run`` on ``examples/campaign.yaml`` (composes every message, sends nothing);
- ``parse-bounces -`` on one bounce read from stdin, with a store (the MTA pipe case);
- ``python -c "import mailbounce.cli"``.

``--before DIR`` (repeatable) puts DIR first on PYTHONPATH for a "before" column, run
interleaved with the current tree so both see the same load: e.g. a ``git archive`` of an
earlier commit's ``src`` and a ``pip install --target`` of another typer.

Not a test: figures only. CPU time is the figure to compare on a loaded machine.
"""

from __future__ import annotations

import argparse
import os
import pty
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
BOUNCE = ROOT / "tests" / "data" / "bounces" / "postfix-01.eml"


@dataclass(frozen=True)
class Case:
    label: str
    argv: list[str]
    stdin: bytes = b""
    terminal: bool = False  # stdout on a pseudo-terminal instead of a pipe


def _child(case: Case, env: dict[str, str]) -> None:
    if not case.terminal:
        subprocess.run(
            case.argv,
            input=case.stdin,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env=env,
            check=False,
        )
        return
    controller, terminal = pty.openpty()
    with subprocess.Popen(
        case.argv, stdin=subprocess.DEVNULL, stdout=terminal, stderr=subprocess.DEVNULL, env=env
    ) as child:
        os.close(terminal)
        while True:  # drain the terminal, or the child blocks once its buffer is full
            try:
                if not os.read(controller, 65536):
                    break
            except OSError:  # EIO: the child closed the terminal
                break
        child.wait()
    os.close(controller)


def _run(case: Case, env: dict[str, str]) -> tuple[float, float]:
    before = os.times()
    start = time.perf_counter()
    _child(case, env)
    wall = time.perf_counter() - start
    after = os.times()
    cpu = (after.children_user - before.children_user) + (
        after.children_system - before.children_system
    )
    return wall, cpu


def _best(case: Case, runs: int, envs: list[dict[str, str]]) -> list[str]:
    for env in envs:
        _run(case, env)  # warm the page cache and the .pyc files
    results: list[list[tuple[float, float]]] = [[] for _ in envs]
    for _ in range(runs):
        for i, env in enumerate(envs):  # interleaved: before and after share the load
            results[i].append(_run(case, env))
    return [_figures(min(r[0] for r in col), min(r[1] for r in col)) for col in results]


def _figures(wall: float, cpu: float) -> str:
    return f"wall {wall * 1000:5.0f} ms  cpu {cpu * 1000:5.0f} ms"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="runs per command (best is kept)")
    parser.add_argument(
        "--before", action="append", default=[], help="PYTHONPATH entry of a 'before' column"
    )
    args = parser.parse_args()
    cli = [PYTHON, "-m", "mailbounce"]
    with tempfile.TemporaryDirectory() as tmp:
        env = dict(os.environ, MAILBOUNCE_DB=str(Path(tmp) / "startup.db"))
        env.pop("MAILBOUNCE_CONFIG", None)
        env["COLUMNS"] = "100"  # the terminal case: the same width for every run
        envs = [env]
        if args.before:
            before = dict(env, MAILBOUNCE_DB=str(Path(tmp) / "before.db"))
            before["PYTHONPATH"] = os.pathsep.join(args.before)
            envs = [before, env]
        cases = [
            Case("python -c pass (floor)", [PYTHON, "-c", "pass"]),
            Case("import mailbounce.cli", [PYTHON, "-c", "import mailbounce.cli"]),
            Case("mailbounce --help", [*cli, "--help"]),
            Case("mailbounce --help (terminal)", [*cli, "--help"], terminal=True),
            Case("mailbounce --version", [*cli, "--version"]),
            Case(
                "send --dry-run examples",
                [*cli, "send", "--dry-run", str(ROOT / "examples" / "campaign.yaml")],
            ),
            Case("parse-bounces - (1 msg)", [*cli, "parse-bounces", "-"], BOUNCE.read_bytes()),
        ]
        print(f"best of {args.runs}, child processes; python {sys.version.split()[0]}")
        if args.before:
            print(f"{'':28} {'before':30} after")
        for case in cases:
            print(f"{case.label:28} " + "   ".join(_best(case, args.runs, envs)))


if __name__ == "__main__":
    main()
