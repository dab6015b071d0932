"""The ``parse-bounces`` command's work, without Typer: run by its Typer command
(``cli/bounces.py``) and by ``cli/quick.py``, which starts it without loading Typer."""

# No `from __future__ import annotations` in cli/ (tests/test_layering.py).

import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from mailbounce.cli.options import Globals, resolve_format
from mailbounce.render import OutputFormat, render_rows, write_json_lines

if TYPE_CHECKING:
    from mailbounce.parsing import ParseSummary
    from mailbounce.render import Terminal

# A table is for reading on a terminal: the columns a person looks at first.
TABLE_COLUMNS = ("source", "recipient", "status", "reason", "kind", "party", "campaign")


def run_parse_bounces(
    options: Globals,
    sources: Sequence[str],
    *,
    fmt: OutputFormat | None,
    no_store: bool,
    strict: bool,
    jobs: int,
    move_to: str | None,
    imap_ca_file: Path | None,
) -> bool:
    """Parse, print the records and the summary; whether ``--strict`` asks exit 3."""
    from mailbounce.config import load_config
    from mailbounce.models import RECORD_KEYS
    from mailbounce.parsing import parse_bounces, record_json, settings_from_config

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
    return strict and run.summary.has_findings


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
