"""Start-up cost of ``mailbounce`` commands, beside a bare Python start in the same run.

Each command runs as a child process, ``--runs`` times; prints the best wall time and the best
CPU time (user + system of the child, from ``os.times()``), and the same for ``python -c pass``
(the floor no command can go under). Commands measured:

- ``mailbounce --help`` and ``--version``;
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
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
BOUNCE = ROOT / "tests" / "data" / "bounces" / "postfix-01.eml"


def _run(argv: list[str], stdin: bytes | None, env: dict[str, str]) -> tuple[float, float]:
    before = os.times()
    start = time.perf_counter()
    subprocess.run(
        argv,
        input=stdin if stdin is not None else b"",
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=env,
        check=False,
    )
    wall = time.perf_counter() - start
    after = os.times()
    cpu = (after.children_user - before.children_user) + (
        after.children_system - before.children_system
    )
    return wall, cpu


def _best(argv: list[str], runs: int, stdin: bytes | None, envs: list[dict[str, str]]) -> list[str]:
    for env in envs:
        _run(argv, stdin, env)  # warm the page cache and the .pyc files
    results: list[list[tuple[float, float]]] = [[] for _ in envs]
    for _ in range(runs):
        for i, env in enumerate(envs):  # interleaved: before and after share the load
            results[i].append(_run(argv, stdin, env))
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
        envs = [env]
        if args.before:
            before = dict(env, MAILBOUNCE_DB=str(Path(tmp) / "before.db"))
            before["PYTHONPATH"] = os.pathsep.join(args.before)
            envs = [before, env]
        bounce = BOUNCE.read_bytes()
        cases: list[tuple[str, list[str], bytes | None]] = [
            ("python -c pass (floor)", [PYTHON, "-c", "pass"], None),
            ("import mailbounce.cli", [PYTHON, "-c", "import mailbounce.cli"], None),
            ("mailbounce --help", [*cli, "--help"], None),
            ("mailbounce --version", [*cli, "--version"], None),
            (
                "send --dry-run examples",
                [*cli, "send", "--dry-run", str(ROOT / "examples" / "campaign.yaml")],
                None,
            ),
            ("parse-bounces - (1 msg)", [*cli, "parse-bounces", "-"], bounce),
        ]
        print(f"best of {args.runs}, child processes; python {sys.version.split()[0]}")
        if args.before:
            print(f"{'':28} {'before':30} after")
        for label, argv, stdin in cases:
            print(f"{label:28} " + "   ".join(_best(argv, args.runs, stdin, envs)))


if __name__ == "__main__":
    main()
