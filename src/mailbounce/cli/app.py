"""The Typer application and the options every command shares."""

# No `from __future__ import annotations` in the command modules: Typer reads every
# command's annotations at each start, and strings cost ~15 ms a run to evaluate (twice).

from pathlib import Path
from typing import Annotated

import typer

from mailbounce import __version__
from mailbounce.cli.options import Globals, make_globals, resolve_format
from mailbounce.render import OutputFormat

__all__ = ["FormatOption", "Globals", "app", "globals_of", "resolve_format"]

app = typer.Typer(
    name="mailbounce",
    help="Send email campaigns from CSV lists and understand why mail was rejected.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)

FormatOption = Annotated[
    OutputFormat | None,
    typer.Option(
        "--format",
        "-f",
        help="Output format; default: table on a terminal, jsonl otherwise.",
        case_sensitive=False,
    ),
]


def globals_of(ctx: typer.Context) -> Globals:
    obj = ctx.find_root().obj
    assert isinstance(obj, Globals)
    return obj


def _version(value: bool) -> None:
    if value:
        typer.echo(f"mailbounce {__version__}")
        raise typer.Exit()


@app.callback()
def _global_options(
    ctx: typer.Context,
    db: Annotated[
        Path | None,
        typer.Option(help="SQLite database (env MAILBOUNCE_DB).", show_default="./mailbounce.db"),
    ] = None,
    config: Annotated[
        Path | None, typer.Option(help="YAML configuration file (env MAILBOUNCE_CONFIG).")
    ] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Only errors on stderr.")] = False,
    verbose: Annotated[
        int, typer.Option("--verbose", "-v", count=True, help="More detail on stderr.")
    ] = 0,
    version: Annotated[
        bool,
        typer.Option("--version", callback=_version, is_eager=True, help="Print the version."),
    ] = False,
) -> None:
    ctx.obj = make_globals(db, config, quiet=quiet, verbose=verbose)
