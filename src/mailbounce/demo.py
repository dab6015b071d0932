"""``mailbounce demo``: the examples/ campaign sent to the embedded sandbox, no setup needed.

The demo is a list of steps (``DEMO_STEPS``), each a small function of a ``DemoContext``:
other concerns add theirs (parsing the later bounces, printing the report) by appending
to the list. Nothing leaves the machine: the sandbox listens on 127.0.0.1, and the
database lives in a fresh temporary directory printed at the start.

Time is injected, not waited for: the retry step runs "6 minutes later" by giving the send
run a clock 6 minutes ahead, so greylisted recipients are due at once (the sandbox's
greylisting delay is 0 for the demo).

The examples are read from the package when installed (``mailbounce/demo_data``, put there
from ``examples/`` by the wheel build: ``tool.hatch...force-include``) and from the
checkout's ``examples/`` otherwise, so there is one copy of them.
"""

from __future__ import annotations

import tempfile
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from importlib import resources
from pathlib import Path
from typing import Any

from mailbounce import advice
from mailbounce.campaign import CampaignOptions
from mailbounce.campaign_loading import load_campaign
from mailbounce.dsn import write_later_bounces
from mailbounce.errors import ConfigError
from mailbounce.models import DeliveryState
from mailbounce.parsing import ParseSettings, parse_bounces
from mailbounce.report_demo import step_report
from mailbounce.sandbox import DEFAULT_RULES, SandboxServer
from mailbounce.send_report import SendReport, summary_lines
from mailbounce.sending import SendOptions, send_campaign
from mailbounce.store import Store, delivery_queries
from mailbounce.store import campaigns as campaign_rows
from mailbounce.tracking import secret_from

RETRY_LATER = timedelta(minutes=6)


@dataclass
class DemoContext:
    """What the steps share. ``say`` prints a line for people (stderr)."""

    say: Callable[[str], None]
    workdir: Path
    examples: Path
    sandbox: SandboxServer
    lang: str
    now: datetime = field(default_factory=lambda: datetime.now(UTC))
    reports: list[SendReport] = field(default_factory=list)
    outcomes: list[dict[str, Any]] = field(default_factory=list)

    @property
    def db_path(self) -> Path:
        return self.workdir / "mailbounce.db"

    @property
    def campaign_file(self) -> Path:
        return self.examples / "campaign.yaml"


DemoStep = Callable[[DemoContext], None]


def examples_dir() -> Path:
    """The example campaign: packaged copy when installed, the checkout's otherwise."""
    packaged = Path(str(resources.files("mailbounce") / "demo_data"))
    if (packaged / "campaign.yaml").is_file():
        return packaged
    checkout = Path(__file__).resolve().parents[2] / "examples"
    if (checkout / "campaign.yaml").is_file():
        return checkout
    raise ConfigError("the example campaign is missing from this installation")


def describe_sandbox(say: Callable[[str], None], sandbox: SandboxServer) -> None:
    say(f"sandbox SMTP server on {sandbox.url}; it answers like real providers:")
    for rule in sandbox.rules:
        say(f"  {rule.pattern:<14} {rule.behaviour}")
    say(f"  {'anything else':<14} accept")


def _send(ctx: DemoContext, at: datetime, title: str) -> None:
    ctx.say("")
    ctx.say(title)
    options = CampaignOptions(campaign_file=ctx.campaign_file, smtp=ctx.sandbox.url)
    # --force: step_check showed the findings; the example list has a bad row on purpose.
    send_options = SendOptions(now=lambda: at, force=True, check_dns=False)
    report = send_campaign(ctx.db_path, load_campaign(options), send_options)
    ctx.reports.append(report)
    for line in summary_lines(report):
        ctx.say(line)


def step_start(ctx: DemoContext) -> None:
    ctx.say(f"demo directory (database, nothing else): {ctx.workdir}")
    ctx.say(f"campaign: {ctx.campaign_file}")
    describe_sandbox(ctx.say, ctx.sandbox)


def step_check(ctx: DemoContext) -> None:
    """What `mailbounce check` says before sending (offline: no DNS in the demo)."""
    from mailbounce.checks import Severity, check_campaign

    ctx.say("")
    ctx.say("0. checking the campaign before sending (as `mailbounce check`, without DNS)")
    found = check_campaign(ctx.campaign_file, db_path=ctx.db_path, dns=False)
    for finding in found.findings:
        if finding.severity is not Severity.INFO:
            ctx.say(f"  {finding.severity}: {finding.message}")
    ctx.say("  the demo sends anyway (--force): bad rows are skipped, never sent")


def step_send(ctx: DemoContext) -> None:
    _send(ctx, ctx.now, "1. sending the campaign")


def step_retry(ctx: DemoContext) -> None:
    _send(ctx, ctx.now + RETRY_LATER, "2. six minutes later (cron runs the same command): retries")


def step_outcomes(ctx: DemoContext) -> None:
    """Who got what, and why, in plain words."""
    name = ctx.reports[-1].campaign
    with Store(ctx.db_path) as store:
        record = campaign_rows.find_campaign(store, name)
        assert record is not None
        ids = delivery_queries.delivery_ids_in_states(store, record.id, list(DeliveryState))
        rows = delivery_queries.outcomes(store, record.id, ids)
    for row in rows:
        why = _why(row, ctx.lang)
        ctx.outcomes.append(
            {
                "address": row["address"],
                "state": row["state"],
                "attempts": row["attempts"],
                "why": why,
                "reply": row["last_reply"] or "",
            }
        )


def _why(row: dict[str, Any], lang: str) -> str:
    if row["state"] == "sent":
        return "delivered" if row["attempts"] <= 1 else "delivered on a retry"
    if row["reason"]:
        return advice.explain(row["reason"], lang).label
    if row["skip_cause"]:
        return f"not sent: {row['skip_cause']}"
    return ""


def step_later_bounces(ctx: DemoContext) -> None:
    """A relay reports some accepted mail as undeliverable minutes later: parse its DSNs."""
    ctx.say("")
    ctx.say("3. later, the relay returns bounces for some accepted mail: parse-bounces")
    maildir = ctx.workdir / "Maildir"
    written = write_later_bounces(ctx.sandbox, maildir)
    campaign = load_campaign(CampaignOptions(campaign_file=ctx.campaign_file, smtp=ctx.sandbox.url))
    secret = secret_from(campaign.tracking_secret) if campaign.tracking_secret else None
    run = parse_bounces(
        [str(maildir)], db=ctx.db_path, settings=ParseSettings(tracking_secret=secret)
    )
    for record in run:
        ctx.say(f"  {record.recipient}: {record.status} {record.reason} ({record.kind})")
    summary = run.summary
    ctx.say(
        f"  bounces read from {maildir}: {len(written)}; deliveries now rejected:"
        f" {summary.deliveries_updated}; addresses no longer mailed: {len(summary.suppressed)}"
    )


DEMO_STEPS: list[DemoStep] = [
    step_start,
    step_check,
    step_send,
    step_retry,
    step_later_bounces,
    step_outcomes,
    step_report,
]


def run_demo(say: Callable[[str], None], workdir: Path | None = None) -> DemoContext:
    """Run every demo step against a fresh sandbox; return the context (outcomes inside)."""
    directory = workdir or Path(tempfile.mkdtemp(prefix="mailbounce-demo-"))
    with SandboxServer(greylist_delay=0.0) as sandbox:
        ctx = DemoContext(
            say=say,
            workdir=directory,
            examples=examples_dir(),
            sandbox=sandbox,
            lang=advice.default_lang(),
        )
        for step in DEMO_STEPS:
            step(ctx)
    return ctx


def serve_sandbox(
    say: Callable[[str], None], *, port: int, maildir: Path | None, greylist_delay: float
) -> None:
    """``mailbounce sandbox``: serve in the foreground until interrupted (Ctrl-C)."""
    with SandboxServer(
        port=port, maildir=maildir, rules=DEFAULT_RULES, greylist_delay=greylist_delay
    ) as sandbox:
        describe_sandbox(say, sandbox)
        if maildir is not None:
            say(f"accepted messages are copied to the Maildir {maildir}")
        say("press Ctrl-C to stop")
        try:
            threading.Event().wait()
        except KeyboardInterrupt:  # the documented way to stop: not an error
            say("sandbox stopped")
