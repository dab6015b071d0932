"""Commands of the bounces concern: ``parse-bounces``; registered on the app when imported.

The bounce analysis (detectors, classification, store) is imported inside the command, so
other commands never load it (see ``cli/__init__``).
"""

# No `from __future__ import annotations` in the command modules: Typer reads every
# command's annotations at each start, and strings cost ~15 ms a run to evaluate (twice).

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from mailbounce.cli.app import FormatOption, app, globals_of, resolve_format
from mailbounce.render import OutputFormat, render_rows, write_json_lines

if TYPE_CHECKING:
    from mailbounce.parsing import ParseSummary
    from mailbounce.render import Terminal

__all__ = ["app"]

# A table is for reading on a terminal: the columns a person looks at first.
TABLE_COLUMNS = ("source", "recipient", "status", "reason", "kind", "party", "campaign")


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
    from mailbounce.config import load_config
    from mailbounce.models import RECORD_KEYS
    from mailbounce.parsing import parse_bounces, record_json, settings_from_config

    options = globals_of(ctx)
    settings = settings_from_config(
        load_config(options.config),
        store=not no_store,
        jobs=jobs,
        move_to=move_to,
        imap_ca_file=imap_ca_file,
    )
    run = parse_bounces(sources, db=options.db, settings=settings, stdin=sys.stdin.buffer)
    out_format = resolve_format(fmt, OutputFormat.TABLE)
    if out_format is OutputFormat.JSONL:
        write_json_lines(map(record_json, run))
    else:
        columns = TABLE_COLUMNS if out_format is OutputFormat.TABLE else RECORD_KEYS
        render_rows((record.to_dict() for record in run), columns, out_format)
    sys.stdout.flush()
    print_summary(options.terminal, run.summary, stored=not no_store)
    if strict and run.summary.has_findings:
        raise typer.Exit(3)


def print_summary(terminal: "Terminal", summary: "ParseSummary", *, stored: bool) -> None:
    """The run on stderr: counts first, then every message a person should look at."""
    terminal.info(
        f"{summary.messages} messages read: {summary.records} records, "
        f"{summary.not_bounces} not bounces, {len(summary.unrecognised)} unrecognised, "
        f"{len(summary.quarantined)} quarantined"
    )
    if summary.by_kind:
        terminal.info("by kind: " + _counts(summary.by_kind))
    if summary.by_reason:
        terminal.info("by reason: " + _counts(summary.by_reason))
    if stored:
        terminal.info(
            f"stored: {summary.stored} new records ({summary.already_stored} already known), "
            f"{summary.deliveries_updated} deliveries updated, "
            f"{len(summary.suppressed)} addresses suppressed"
        )
        for address, cause in summary.suppressed:
            terminal.debug(f"suppressed {address} ({cause})")
    for source, reason in summary.quarantined:
        terminal.warning(f"quarantined {source}: {reason}")
    for source in summary.unrecognised:
        terminal.warning(f"unrecognised bounce {source}: please turn it into a test sample")
    for source in summary.forged:
        terminal.warning(f"{source}: tracking token with a bad signature, ignored")


def _counts(counter: dict[str, int]) -> str:
    return ", ".join(
        f"{key} {count}" for key, count in sorted(counter.items(), key=lambda kv: (-kv[1], kv[0]))
    )
