"""Commands of the bounces concern: ``parse-bounces``; registered on the app when imported.

The bounce analysis (detectors, classification, store) is imported inside the command, so
other commands never load it (see ``cli/__init__``).
"""

# No `from __future__ import annotations` in the command modules: Typer reads every
# command's annotations at each start, and strings cost ~15 ms a run to evaluate (twice).

from pathlib import Path
from typing import Annotated

import typer

from mailbounce.cli import bounces_run
from mailbounce.cli.app import FormatOption, app, globals_of

__all__ = ["app"]


@app.command("parse-bounces")
def parse_bounces_command(
    ctx: typer.Context,
    sources: Annotated[
        list[str],
        typer.Argument(
            help="mbox file, Maildir, message file, folder of messages, - (stdin), "
            "or imaps://user@host[:port]/FOLDER (password in MAILBOUNCE_IMAP_PASSWORD).",
            show_default=False,
            metavar="SOURCE",
        ),
    ],
    fmt: FormatOption = None,
    no_store: Annotated[
        bool, typer.Option("--no-store", help="Analyse only: change nothing in the database.")
    ] = False,
    strict: Annotated[
        bool,
        typer.Option("--strict", help="Exit 3 when a message was unrecognised or quarantined."),
    ] = False,
    jobs: Annotated[int, typer.Option("--jobs", "-j", min=1, help="Analyse in N processes.")] = 1,
    move_to: Annotated[
        str | None,
        typer.Option(
            "--move-to",
            help="IMAP: move processed messages to this folder (default: flag them \\Seen).",
        ),
    ] = None,
    imap_ca_file: Annotated[
        Path | None,
        typer.Option("--imap-ca-file", help="IMAP: CA certificates (PEM) to verify the server."),
    ] = None,
) -> None:
    """Read bounce mail and turn it into classified rejections; update the store."""
    findings = bounces_run.run_parse_bounces(
        globals_of(ctx),
        sources,
        fmt=fmt,
        no_store=no_store,
        strict=strict,
        jobs=jobs,
        move_to=move_to,
        imap_ca_file=imap_ca_file,
    )
    if findings:
        raise typer.Exit(3)
