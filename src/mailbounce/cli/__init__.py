"""Command line: a thin adapter over the library (DESIGN §3).

Each command resolves its inputs, calls one library function and renders the result.
``main`` is the only place that catches ``MailbounceError``: one line, its exit code.
Typer itself turns usage mistakes into exit 2 and ``typer.Exit(code)`` into ``code``.

Start-up is paid by every cron run and by every ``| mailbounce parse-bounces -`` MTA pipe (one
process per bounce), so registering the commands loads no library: each command imports what
it calls inside its body, and the option types Typer needs come from light modules
(``tests/test_layering.py`` and ``tests/test_startup.py`` hold this;
``benchmarks/startup_time.py`` measures it).
"""

from __future__ import annotations

import sys

from mailbounce.cli.app import app
from mailbounce.errors import MailbounceError

# Each module registers its commands on ``app`` when imported.
from mailbounce.cli import bounces, check, report, send  # noqa: F401  isort: skip

__all__ = ["app", "main"]


def main() -> None:
    """Entry point of the ``mailbounce`` command."""
    if not sys.stdout.isatty():
        # Help in boxes is for people at a terminal; for a pipe (`| less`, `| grep`), plain
        # text, as render.py does for tables. Typer's Rich help costs ~0.15 s of imports.
        app.rich_markup_mode = None
    try:
        app()
    except MailbounceError as exc:
        print(f"mailbounce: {exc.message}", file=sys.stderr)
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        print("mailbounce: interrupted", file=sys.stderr)
        sys.exit(130)
