"""Commands of the report concern: report, lists, contact, explain, resubscribe, unsubscribe,
forget, import. Each resolves its inputs, calls one library function and renders."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from mailbounce.advice import default_lang
from mailbounce.cli.app import app, globals_of
from mailbounce.report import build_report
from mailbounce.report_text import ReportFormat, atomic_output, write_report
from mailbounce.store import Store

__all__ = ["app"]

LangOption = Annotated[
    str | None,
    typer.Option(
        "--lang",
        help="Language of labels and advice: fr or en (default: from LC_ALL/LANG).",
        show_default=False,
    ),
]


def _lang(lang: str | None) -> str:
    return lang or default_lang()


@app.command("report")
def report_command(
    ctx: typer.Context,
    campaign: Annotated[
        str | None, typer.Argument(help="Campaign name (default: the most recent campaign).")
    ] = None,
    fmt: Annotated[
        ReportFormat | None,
        typer.Option(
            "--format",
            "-f",
            help="table, markdown, json, csv (rejected recipients) or html "
            "(default: table, html when --output ends in .html).",
            case_sensitive=False,
        ),
    ] = None,
    output: Annotated[
        Path | None,
        typer.Option("--output", "-o", help="Write to FILE (atomically) instead of stdout."),
    ] = None,
    lang: LangOption = None,
) -> None:
    """A campaign's outcome: totals, rejections by reason and domain, sender problems."""
    opts = globals_of(ctx)
    chosen = fmt or _format_for(output)
    with Store(opts.db) as store:
        report = build_report(store, campaign, _lang(lang))
        if output is None:
            write_report(report, chosen, sys.stdout)
            return
        with atomic_output(output) as out:
            write_report(report, chosen, out)
    opts.terminal.info(f"report written to {output}")


def _format_for(output: Path | None) -> ReportFormat:
    if output is not None:
        suffix = output.suffix.lower()
        by_suffix = {
            ".html": ReportFormat.HTML,
            ".htm": ReportFormat.HTML,
            ".md": ReportFormat.MARKDOWN,
            ".json": ReportFormat.JSON,
            ".csv": ReportFormat.CSV,
        }
        return by_suffix.get(suffix, ReportFormat.TABLE)
    return ReportFormat.TABLE
