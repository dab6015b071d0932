"""What the global options resolve to, without Typer (``cli/quick.py`` runs without it)."""

import os
import sys
from pathlib import Path

from mailbounce.render import OutputFormat, Terminal


class Globals:
    """What the global options resolved to; every command reads it from ``ctx.obj``.

    A plain class: a dataclass costs ~4 M instructions to define at each start."""

    def __init__(self, db: Path, config: Path | None, verbosity: int, terminal: Terminal) -> None:
        self.db = db
        self.config = config
        self.verbosity = verbosity
        self.terminal = terminal


def make_globals(db: Path | None, config: Path | None, *, quiet: bool, verbose: int) -> Globals:
    """``--db``, ``--config``, ``-q`` and ``-v`` as given, with their environment defaults."""
    db_path = db or Path(os.environ.get("MAILBOUNCE_DB") or "mailbounce.db")
    env_config = os.environ.get("MAILBOUNCE_CONFIG")
    config_path = config or (Path(env_config) if env_config else None)
    verbosity = -1 if quiet else verbose
    return Globals(db_path, config_path, verbosity, Terminal(verbosity))


def resolve_format(fmt: OutputFormat | None, interactive_default: OutputFormat) -> OutputFormat:
    """An explicit --format wins; else a table for people, ``jsonl`` for pipes."""
    if fmt is not None:
        return fmt
    return interactive_default if sys.stdout.isatty() else OutputFormat.JSONL
