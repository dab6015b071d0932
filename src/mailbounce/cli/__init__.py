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

import os
import sys
from typing import TYPE_CHECKING, Any

from mailbounce.errors import MailbounceError

if TYPE_CHECKING:
    import typer

    from mailbounce.cli.app import app

__all__ = ["app", "main"]


def __getattr__(name: str) -> Any:
    """``app``, with every command registered: Typer is loaded only when asked for (a plain
    ``parse-bounces`` runs without it: ``cli/quick.py``)."""
    if name != "app":
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return _typer_app()


def _typer_app() -> typer.Typer:
    from mailbounce.cli.app import app

    # Each module registers its commands on ``app`` when imported.
    from mailbounce.cli import bounces, check, report, send  # noqa: F401  isort: skip

    # Importing the submodule ``cli.app`` bound the package's ``app`` to that module: the
    # Typer application takes the name back, as the eager import here used to do.
    globals()["app"] = app
    return app


def main() -> None:
    """Entry point of the ``mailbounce`` command."""
    from mailbounce.cli.quick import quick_command, run_quick

    run = quick_command(sys.argv[1:], os.environ)
    try:
        if run is not None:
            run_quick(run)
        else:
            _typer_main()
    except MailbounceError as exc:
        print(f"mailbounce: {exc.message}", file=sys.stderr)
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        print("mailbounce: interrupted", file=sys.stderr)
        sys.exit(130)


def _typer_main() -> None:
    app = _typer_app()
    if not sys.stdout.isatty():
        # Help in boxes is for people at a terminal; for a pipe (`| less`, `| grep`), plain
        # text, as render.py does for tables. Typer's Rich help costs ~0.15 s of imports.
        app.rich_markup_mode = None
    app()
