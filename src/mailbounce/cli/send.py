"""Commands of the send concern: ``send``, ``sandbox``, ``demo``.

The library is imported inside each command (see ``cli/__init__``): registering the commands
must not load Jinja2, the SMTP client or the store. ``TlsMode`` is an option type, which
Typer reads when it builds the command, so it comes from the light ``smtp_settings``.
"""

# No `from __future__ import annotations` in the command modules: Typer reads every
# command's annotations at each start, and strings cost ~15 ms a run to evaluate (twice).

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from mailbounce.cli.app import FormatOption, app, globals_of, resolve_format
from mailbounce.errors import EXIT_FINDINGS
from mailbounce.render import OutputFormat, render_rows
from mailbounce.smtp_settings import TlsMode

if TYPE_CHECKING:
    from mailbounce.campaign import CampaignOptions

__all__ = ["app"]


@app.command("send")
def send_command(
    ctx: typer.Context,
    campaign_file: Annotated[
        Path | None,
        typer.Argument(help="Campaign YAML file (see examples/campaign.yaml); or use options."),
    ] = None,
    campaign: Annotated[
        str | None, typer.Option("--campaign", help="Campaign name; the same name resumes it.")
    ] = None,
    lists: Annotated[
        list[Path] | None, typer.Option("--list", help="CSV list of recipients (repeatable).")
    ] = None,
    from_addr: Annotated[
        str | None, typer.Option("--from", help="Sender, e.g. 'Asso <news@asso.example>'.")
    ] = None,
    subject: Annotated[str | None, typer.Option(help="Subject template (Jinja2).")] = None,
    text: Annotated[Path | None, typer.Option(help="Plain-text body template file.")] = None,
    html: Annotated[Path | None, typer.Option(help="HTML body template file.")] = None,
    smtp: Annotated[
        str | None, typer.Option(help="Relay: smtp://HOST:PORT (STARTTLS) or smtps://HOST.")
    ] = None,
    tls: Annotated[
        TlsMode | None,
        typer.Option(help="starttls (default, verified), tls (implicit, port 465), or none."),
    ] = None,
    user: Annotated[
        str | None,
        typer.Option(help="SMTP login; password from MAILBOUNCE_SMTP_PASSWORD or a 0600 file."),
    ] = None,
    ca_file: Annotated[
        Path | None, typer.Option(help="CA certificate (PEM) of a relay with a private CA.")
    ] = None,
    concurrency: Annotated[
        int | None, typer.Option(help="SMTP connections in parallel (default 1).")
    ] = None,
    rate: Annotated[
        float | None, typer.Option(help="At most this many messages per second, in total.")
    ] = None,
    processes: Annotated[
        int | None,
        typer.Option(
            min=1,
            help="Processes sharing the connections (default 1; at most --concurrency;"
            " 1 with per-domain rate limits). More can help on a loaded many-core machine.",
        ),
    ] = None,
    retry_after: Annotated[
        str | None, typer.Option(help="First retry of a temporary failure (default 5m).")
    ] = None,
    limit: Annotated[
        int | None, typer.Option(min=0, help="Try at most this many recipients in this run.")
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Compose every message; send and record nothing.")
    ] = False,
    resend_uncertain: Annotated[
        bool,
        typer.Option(
            "--resend-uncertain", help="Send again to recipients whose outcome is unknown."
        ),
    ] = False,
    force: Annotated[
        bool,
        typer.Option("--force", help="Send despite failed checks or a changed campaign message."),
    ] = False,
    fmt: FormatOption = None,
) -> None:
    """Send a campaign, or resume it: only due recipients are tried; run it again from cron."""
    from mailbounce.campaign import CampaignOptions
    from mailbounce.send_report import summary_lines
    from mailbounce.sending import SendOptions, send
    from mailbounce.store.delivery_queries import OUTCOME_COLUMNS

    g = globals_of(ctx)
    campaign_options = CampaignOptions(
        campaign_file=campaign_file,
        name=campaign,
        lists=list(lists or []),
        from_addr=from_addr,
        subject=subject,
        text=text,
        html=html,
        smtp=smtp,
        tls=tls,
        user=user,
        ca_file=ca_file,
        concurrency=concurrency,
        rate=rate,
        retry_after=retry_after,
    )
    options = SendOptions(
        limit=limit,
        dry_run=dry_run,
        resend_uncertain=resend_uncertain,
        force=force,
        processes=processes,
        log=g.terminal.debug if g.verbosity > 0 else None,
        warn=g.terminal.warning,
    )
    report = send(
        g.db,
        campaign_options,
        options,
        config_path=g.config,
        progress=lambda total: g.terminal.progress(
            f"sending {report_name(campaign_options)}", total
        ),
    )
    render_rows(report.outcomes, OUTCOME_COLUMNS, resolve_format(fmt, OutputFormat.TABLE))
    for line in summary_lines(report):
        g.terminal.info(line)
    if report.uncertain:
        raise typer.Exit(EXIT_FINDINGS)


def report_name(options: "CampaignOptions") -> str:
    return options.name or (options.campaign_file.stem if options.campaign_file else "")


@app.command("sandbox")
def sandbox_command(
    ctx: typer.Context,
    port: Annotated[int, typer.Option(min=0, max=65535, help="Port on 127.0.0.1.")] = 2525,
    maildir: Annotated[
        Path | None, typer.Option(help="Copy every accepted message into this Maildir.")
    ] = None,
    greylist_delay: Annotated[
        float, typer.Option(min=0, help="Seconds before a greylisted retry is accepted.")
    ] = 0.0,
) -> None:
    """Run a local SMTP server that answers like real providers, to try a campaign safely."""
    from mailbounce.demo import serve_sandbox  # aiosmtpd loads only for these commands

    g = globals_of(ctx)
    serve_sandbox(g.terminal.info, port=port, maildir=maildir, greylist_delay=greylist_delay)


@app.command("demo")
def demo_command(ctx: typer.Context, fmt: FormatOption = None) -> None:
    """Send the example campaign to the embedded sandbox and show what happened to whom."""
    from mailbounce.demo import run_demo

    g = globals_of(ctx)
    result = run_demo(g.terminal.info)
    columns = ("address", "state", "attempts", "why", "reply")
    render_rows(result.outcomes, columns, fmt or OutputFormat.TABLE)
