"""Commands of the check concern: ``check addresses|content|domain|campaign``.

Exit codes: 0 nothing needs attention, 3 a warning or an error was found, 1 could not check
(unreadable input, DNS unavailable for ``check domain``), 2 usage.

``mailbounce.checks`` (dnspython, email_validator, the typo engine) is imported inside the
commands: the other commands never pay for it (see ``cli/__init__``).
"""

# No `from __future__ import annotations` in the command modules: Typer reads every
# command's annotations at each start, and strings cost ~15 ms a run to evaluate (twice).

from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from mailbounce.cli.app import FormatOption, app, globals_of, resolve_format
from mailbounce.config import load_config
from mailbounce.errors import EXIT_FINDINGS
from mailbounce.render import OutputFormat, render_rows

if TYPE_CHECKING:
    from mailbounce.checks import AddressResult, Finding

__all__ = ["app", "check_app"]

check_app = typer.Typer(
    name="check",
    help="Before sending: address typos and dead domains, links and size, the sender domain.",
    no_args_is_help=True,
)
app.add_typer(check_app, name="check")

ADDRESS_COLUMNS = ("address", "line", "valid", "suggestion", "findings")
FINDING_COLUMNS = ("severity", "code", "message", "rule", "provider", "subject")


def _flat(result: "AddressResult", with_file: bool) -> dict[str, Any]:
    row = result.as_dict(with_file=with_file)
    row["findings"] = [f"{f.severity}: {f.message}" for f in result.findings]
    return row


class _Watch:
    """Passes results through while remembering whether any needs attention."""

    def __init__(self) -> None:
        self.attention = False

    def results(self, results: Iterable["AddressResult"]) -> Iterator["AddressResult"]:
        from mailbounce.checks import needs_attention

        for result in results:
            if needs_attention(result.findings):
                self.attention = True
            yield result


@check_app.command("addresses")
def addresses_command(
    ctx: typer.Context,
    files: Annotated[
        list[Path],
        typer.Argument(help="CSV lists or text files with one address per line."),
    ],
    fmt: FormatOption = None,
    dns: Annotated[
        bool, typer.Option("--dns", help="Also ask DNS whether each domain receives mail.")
    ] = False,
) -> None:
    """Check addresses: syntax, typos (with suggestions), duplicates, roles, suppressions."""
    from mailbounce.checks import check_addresses

    options = globals_of(ctx)
    config = load_config(options.config)
    check = check_addresses(files, config=config, db_path=options.db, dns=dns)
    output = resolve_format(fmt, OutputFormat.TABLE)
    several = len(files) > 1
    watch = _Watch()
    results = watch.results(check)
    columns = ("file", *ADDRESS_COLUMNS) if several else ADDRESS_COLUMNS
    if output is OutputFormat.TABLE:
        rows = (_flat(r, several) for r in results if r.findings)
        render_rows(rows, columns, output, title="Addresses that need a look")
    elif output is OutputFormat.CSV:
        render_rows((_flat(r, several) for r in results), columns, output)
    else:
        render_rows((r.as_dict(with_file=several) for r in results), columns, output)
    summary = check.summary
    options.terminal.info(
        f"{summary.addresses} addresses: {summary.invalid} invalid, "
        f"{summary.with_findings} with findings"
        + (
            f"; {summary.without_address} rows without an address"
            if summary.without_address
            else ""
        )
    )
    if watch.attention:
        raise typer.Exit(EXIT_FINDINGS)


def _render_findings(findings: list["Finding"], fmt: OutputFormat | None, title: str) -> None:
    output = resolve_format(fmt, OutputFormat.TABLE)
    render_rows((f.as_dict() for f in findings), FINDING_COLUMNS, output, title=title)


def _finish(ctx: typer.Context, findings: list["Finding"], what: str) -> None:
    from mailbounce.checks import needs_attention

    terminal = globals_of(ctx).terminal
    if not findings:
        terminal.info(f"{what}: nothing to report")
    if needs_attention(findings):
        raise typer.Exit(EXIT_FINDINGS)


@check_app.command("content")
def content_command(
    ctx: typer.Context,
    source: Annotated[
        Path, typer.Argument(help="An HTML or text message file, or a campaign YAML file.")
    ],
    lists: Annotated[
        list[Path] | None,
        typer.Option(
            "--list",
            help="A list the message goes to (repeatable): its domains decide provider rules "
            "(http:// is an error when it holds laposte.net addresses).",
        ),
    ] = None,
    fmt: FormatOption = None,
) -> None:
    """Check a message's links (http://, IP hosts, shorteners...), parts, unsubscribe, size."""
    from mailbounce.checks import check_content

    config = load_config(globals_of(ctx).config)
    findings = check_content(source, config=config, lists=lists or ())
    _render_findings(findings, fmt, f"Content of {source}")
    _finish(ctx, findings, str(source))


@check_app.command("domain")
def domain_command(
    ctx: typer.Context,
    domain: Annotated[str, typer.Argument(help="The sender's domain, e.g. asso.example.")],
    dkim_selector: Annotated[
        str | None, typer.Option("--dkim-selector", help="DKIM selector to look up.")
    ] = None,
    fmt: FormatOption = None,
) -> None:
    """Check the sender domain: SPF (and the relay in it), DKIM, DMARC, MX; with advice."""
    from mailbounce.checks import check_domain

    config = load_config(globals_of(ctx).config)
    findings = check_domain(domain, dkim_selector=dkim_selector, config=config)
    _render_findings(findings, fmt, f"Sender domain {domain}")
    _finish(ctx, findings, domain)


@check_app.command("campaign")
def campaign_command(
    ctx: typer.Context,
    campaign_file: Annotated[Path, typer.Argument(help="The campaign YAML file.")],
    dns: Annotated[
        bool,
        typer.Option("--dns/--no-dns", help="Query DNS for list domains and the sender domain."),
    ] = True,
    fmt: FormatOption = None,
) -> None:
    """Everything for one campaign: addresses, content, sender domain. Exit 3 on findings."""
    from mailbounce.checks import check_campaign

    options = globals_of(ctx)
    config = load_config(options.config)
    report = check_campaign(campaign_file, config=config, db_path=options.db, dns=dns)
    _render_findings(report.findings, fmt, f"Campaign {campaign_file}")
    options.terminal.info(report.summary_line())
    if report.unchecked:
        options.terminal.error("could not check: " + "; ".join(report.unchecked))
        raise typer.Exit(1)
    _finish(ctx, report.findings, str(campaign_file))
