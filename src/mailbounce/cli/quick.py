"""``parse-bounces`` started without Typer (issue 3, start-up).

Importing Typer (its own click, completion, inspect of every command's signature) and
building the 16 commands cost ~145 M instructions, ~20% of a ``parse-bounces`` run's
start-up, paid by every MTA pipe (one process per bounce) and every cron run. A command
line made only of the global options and ``parse-bounces`` with its options, each spelt
plainly (``--jobs 2`` or ``--jobs=2``, ``-j 2``), with valid values, is read here and run by
the same function as the Typer command (``cli/bounces_run.py``). Anything else (help,
a mistake, ``-qv``, ``-j2``, ``--``, a value starting with ``-``) returns None: Typer reads
it and answers as always. ``tests/test_cli_quick.py`` checks, argument list by argument
list, that both readings call the command with the same values.
"""

import errno
import os
import sys
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from mailbounce.render import OutputFormat

COMMAND = "parse-bounces"
# The global options (cli/app.py ``_global_options``) and the command's (cli/bounces.py).
GLOBAL_VALUES = {"--db": "db", "--config": "config"}
GLOBAL_FLAGS = {"-q": "quiet", "--quiet": "quiet", "-v": "verbose", "--verbose": "verbose"}
VALUES = {
    "--format": "fmt",
    "-f": "fmt",
    "--jobs": "jobs",
    "-j": "jobs",
    "--move-to": "move_to",
    "--imap-ca-file": "imap_ca_file",
}
FLAGS = {"--no-store": "no_store", "--strict": "strict"}
FORMATS = {fmt.value: fmt for fmt in OutputFormat}

Run = Callable[[], bool]


def quick_command(argv: Sequence[str], environ: Mapping[str, str]) -> Run | None:
    """The ``parse-bounces`` run ``argv`` asks for, or None when Typer must read it."""
    if any(name.startswith("_") and name.endswith("_COMPLETE") for name in environ):
        return None  # a shell completion request (Typer's)
    given = _read(argv)
    if given is None:
        return None
    options, sources = given
    fmt = FORMATS.get(str(options.get("fmt", "jsonl")))
    jobs = str(options.get("jobs", "1"))
    if not sources or fmt is None or not (jobs.isascii() and jobs.isdigit()) or int(jobs) < 1:
        return None
    if "fmt" not in options:
        fmt = None

    def run() -> bool:
        from mailbounce.cli.bounces_run import run_parse_bounces
        from mailbounce.cli.options import make_globals

        return run_parse_bounces(
            make_globals(
                _path(options.get("db")),
                _path(options.get("config")),
                quiet=bool(options.get("quiet")),
                verbose=int(options.get("verbose", 0)),
            ),
            sources,
            fmt=fmt,
            no_store=bool(options.get("no_store")),
            strict=bool(options.get("strict")),
            jobs=int(jobs),
            move_to=_text(options.get("move_to")),
            imap_ca_file=_path(options.get("imap_ca_file")),
        )

    return run


def _read(argv: Sequence[str]) -> tuple[dict[str, str | int | bool], list[str]] | None:
    """The options given (last one wins, as in click; ``-v`` counted) and the sources."""
    options: dict[str, str | int | bool] = {}
    sources: list[str] = []
    values, flags, command = GLOBAL_VALUES, GLOBAL_FLAGS, False
    tokens = iter(argv)
    for token in tokens:
        if not command and token == COMMAND:
            values, flags, command = VALUES, FLAGS, True
        elif token in flags:
            name = flags[token]
            options[name] = int(options.get(name, 0)) + 1 if name == "verbose" else True
        elif token.startswith("--") and "=" in token and token.split("=", 1)[0] in values:
            option, value = token.split("=", 1)
            if not _plain(value):
                return None
            options[values[option]] = value
        elif token in values:
            value = next(tokens, "")
            if not _plain(value):
                return None
            options[values[token]] = value
        elif command and (token == "-" or not token.startswith("-")):
            sources.append(token)
        else:
            return None
    return (options, sources) if command else None


def _plain(value: str) -> bool:
    return bool(value) and not value.startswith("-")


def _path(value: object) -> Path | None:
    return None if value is None else Path(str(value))


def _text(value: object) -> str | None:
    return None if value is None else str(value)


def run_quick(run: Run) -> None:
    """Run as Typer runs a command (``typer.core._main``): exit 3 when ``run`` says so, 130
    on Ctrl-C, 1 on a closed output pipe or ``Aborted!`` at the end of input; a
    ``MailbounceError`` goes on to ``cli.main``."""
    try:
        findings = run()
    except EOFError:
        print(file=sys.stderr)
        print("Aborted!", file=sys.stderr)
        sys.exit(1)
    except KeyboardInterrupt:
        sys.exit(130)
    except OSError as exc:
        if exc.errno != errno.EPIPE:
            raise
        # Nothing more can be written: what is still buffered goes nowhere, quietly.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.dup2(devnull, sys.stderr.fileno())
        sys.exit(1)
    sys.exit(3 if findings else 0)
