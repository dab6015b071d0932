"""Commands of the report concern: report, lists, contact, explain, resubscribe, unsubscribe,
forget, import. Each resolves its inputs, calls one library function and renders.

The library (store, advice catalogues, reports, people) is imported inside each command, so
registering them costs nothing (see ``cli/__init__``); option types and defaults come from
the light ``report_options``.
"""

# No `from __future__ import annotations` in the command modules: Typer reads every
# command's annotations at each start, and strings cost ~15 ms a run to evaluate (twice).

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from mailbounce.cli.app import FormatOption, app, globals_of, resolve_format
from mailbounce.config import load_config
from mailbounce.errors import ConsentRequiredError, InputError
from mailbounce.render import OutputFormat, render_rows, write_json
from mailbounce.report_options import DEFAULT_LIMIT, ReportFormat

if TYPE_CHECKING:
    from mailbounce.people import PersonChange

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
    if lang:
        return lang
    from mailbounce.advice import default_lang

    return default_lang()


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
    limit: Annotated[
        int,
        typer.Option(
            "--limit",
            min=0,
            help="How many rejected recipients table, markdown, html and json list, most "
            "recent first (csv always exports them all).",
        ),
    ] = DEFAULT_LIMIT,
    show_all: Annotated[
        bool, typer.Option("--all", help="List every rejected recipient in every format.")
    ] = False,
) -> None:
    """A campaign's outcome: totals, rejections by reason and domain, sender problems."""
    from mailbounce.report import build_report
    from mailbounce.report_text import atomic_output, write_report
    from mailbounce.store import Store

    opts = globals_of(ctx)
    chosen = fmt or _format_for(output)
    with Store(opts.db) as store:
        report = build_report(store, campaign, _lang(lang), limit=None if show_all else limit)
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


def _machine(fmt: OutputFormat) -> bool:
    return fmt is not OutputFormat.TABLE


@app.command("explain")
def explain_command(
    ctx: typer.Context,
    target: Annotated[
        str, typer.Argument(help="A reason (mailboxfull), a status (5.1.1, 550) or an address.")
    ],
    fmt: FormatOption = None,
    lang: LangOption = None,
) -> None:
    """See why: what a reason means, whether the address is invalid, what to do."""
    from mailbounce.profiles import explain_target, needs_store
    from mailbounce.profiles_text import write_explanation
    from mailbounce.store import Store

    opts = globals_of(ctx)
    chosen = resolve_format(fmt, OutputFormat.TABLE)
    language = _lang(lang)
    store = Store(opts.db) if needs_store(target) else None
    try:
        item = explain_target(store, target, language)
    finally:
        if store is not None:
            store.close()
    if chosen is OutputFormat.JSON:
        write_json(item.to_dict(), sys.stdout)
    elif _machine(chosen):
        render_rows([item.to_dict()], list(item.to_dict()), chosen)
    else:
        write_explanation(item, language, sys.stdout)


@app.command("contact")
def contact_command(
    ctx: typer.Context,
    address: Annotated[str, typer.Argument(help="The person's email address.")],
    fmt: FormatOption = None,
    lang: LangOption = None,
) -> None:
    """One person's profile: status, lists, each campaign's outcome, rejection history."""
    from mailbounce.profiles import contact_profile
    from mailbounce.profiles_text import write_profile
    from mailbounce.store import Store

    opts = globals_of(ctx)
    chosen = resolve_format(fmt, OutputFormat.TABLE)
    language = _lang(lang)
    with Store(opts.db) as store:
        profile = contact_profile(store, address, language)
    if chosen is OutputFormat.CSV:
        render_rows(profile.rejections, _REJECTION_COLUMNS, chosen)
    elif chosen is OutputFormat.JSON:
        write_json(profile.to_dict(), sys.stdout)
    elif _machine(chosen):
        render_rows([profile.to_dict()], [], chosen)
    else:
        write_profile(profile, language, sys.stdout)


_REJECTION_COLUMNS = ["date", "campaign", "reason", "label", "kind", "status", "diagnostic"]
_MEMBER_COLUMNS = ["list", "part", "line", "address", "display", "reason", "label", "see_why"]


@app.command("lists")
def lists_command(
    ctx: typer.Context,
    name: Annotated[str | None, typer.Argument(help="List name (default: every list).")] = None,
    fmt: FormatOption = None,
    lang: LangOption = None,
) -> None:
    """A list's four parts: recipients, unsubscribed, without address, identified as invalid."""
    from mailbounce.profiles import list_views
    from mailbounce.profiles_text import write_list_views
    from mailbounce.store import Store

    opts = globals_of(ctx)
    chosen = resolve_format(fmt, OutputFormat.TABLE)
    language = _lang(lang)
    with Store(opts.db) as store:
        views = list_views(store, name, language)
    if chosen is OutputFormat.JSON:
        render_rows([view.to_dict() for view in views], [], chosen)
    elif _machine(chosen):
        rows = [row for view in views for row in view.rows(language)]
        render_rows(rows, _MEMBER_COLUMNS, chosen)
    else:
        write_list_views(views, language, sys.stdout)
    if not views:
        opts.terminal.info("no list in the database yet: run `mailbounce import FILE.csv`")


AddressesArgument = Annotated[list[str], typer.Argument(help="One or more email addresses.")]
_CHANGE_COLUMNS = ["address", "before", "after", "changed"]


def _render_changes(
    ctx: typer.Context, changes: list["PersonChange"], fmt: OutputFormat | None
) -> None:
    opts = globals_of(ctx)
    chosen = resolve_format(fmt, OutputFormat.TABLE)
    render_rows([change.to_dict() for change in changes], _CHANGE_COLUMNS, chosen)
    changed = sum(change.changed for change in changes)
    opts.terminal.info(f"{changed} of {len(changes)} address(es) changed")


@app.command("resubscribe")
def resubscribe_command(
    ctx: typer.Context,
    addresses: AddressesArgument,
    consent: Annotated[
        str | None,
        typer.Option(
            help="How and when the person agreed again (needed for people who unsubscribed "
            "themselves; recorded with the date)."
        ),
    ] = None,
    fmt: FormatOption = None,
) -> None:
    """Mail these addresses again (invalid → recipients; unsubscribed only with --consent)."""
    from mailbounce.people import resubscribe
    from mailbounce.store import Store

    opts = globals_of(ctx)
    with Store(opts.db) as store:
        try:
            changes = resubscribe(store, addresses, consent)
        except ConsentRequiredError:
            # Ask only a person at a terminal; a script gets the error and exit 1.
            if consent is not None or not sys.stdin.isatty():
                raise
            opts.terminal.warning("some of these people unsubscribed themselves")
            given = typer.prompt("Describe their consent (how and when they agreed)", default="")
            if not given.strip():
                raise
            changes = resubscribe(store, addresses, given)
    _render_changes(ctx, changes, fmt)


@app.command("unsubscribe")
def unsubscribe_command(
    ctx: typer.Context, addresses: AddressesArgument, fmt: FormatOption = None
) -> None:
    """Stop mailing these addresses: the person asked to stop."""
    from mailbounce.people import unsubscribe
    from mailbounce.store import Store

    with Store(globals_of(ctx).db) as store:
        changes = unsubscribe(store, addresses)
    _render_changes(ctx, changes, fmt)


@app.command("forget")
def forget_command(
    ctx: typer.Context, addresses: AddressesArgument, fmt: FormatOption = None
) -> None:
    """Erase these people's data, keeping only a keyed hash so they are never mailed again.

    The key is the tracking secret (MAILBOUNCE_TRACKING_SECRET or tracking.secret in the
    configuration), the same one `send` uses to recognise forgotten addresses.
    """
    from mailbounce.people import forget, forget_secret
    from mailbounce.store import Store

    opts = globals_of(ctx)
    secret = forget_secret(load_config(opts.config))
    with Store(opts.db) as store:
        changes = forget(store, addresses, secret)
    _render_changes(ctx, changes, fmt)


@app.command("import")
def import_command(
    ctx: typer.Context,
    path: Annotated[Path, typer.Argument(help="The member list (CSV, as spreadsheets export it).")],
    list_name: Annotated[
        str | None, typer.Option("--list-name", help="Name of the list (default: the file's name).")
    ] = None,
) -> None:
    """Import a member list without sending; `lists` then shows its four parts."""
    from mailbounce.people import import_members
    from mailbounce.store import Store

    opts = globals_of(ctx)
    if not path.is_file():
        raise InputError(path, "no such file")
    with Store(opts.db) as store:
        result = import_members(store, path, name=list_name)
    done = result.imported
    forgotten = (
        f", {result.forgotten_skipped} forgotten left out" if result.forgotten_skipped else ""
    )
    opts.terminal.info(
        f"list '{done.name}': {done.members} member(s) with an address ({done.invalid} invalid),"
        f" {done.without_address} without address, {done.duplicates} duplicate(s){forgotten}"
    )
