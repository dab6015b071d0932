"""The send run: lists into deliveries, then concurrent, rate-limited, resumable delivery.

``send_campaign`` is the whole of ``mailbounce send``. In order: take the run lock; read and
import the lists; compile the message (a template error stops everything before any send);
create or resume the campaign, refusing a changed content; settle what a killed run left
(``claimed`` → pending, ``in_flight`` → uncertain); skip suppressed addresses; then
``concurrency`` workers, each with its own SMTP connection and SQLite connection, send the
due recipients (pending, and deferred whose ``next_attempt_at`` has come).

Every state change is committed before the next network step (DESIGN §6): ``in_flight`` is
committed after the server's 354 and before the data and final dot are written, so a crash
can only leave ``claimed`` (never written: sent again safely) or ``in_flight`` (maybe
delivered: ``uncertain``, never resent unless asked).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mailbounce import tracking
from mailbounce.campaign import Campaign, CampaignOptions
from mailbounce.campaign_changes import definition_changes
from mailbounce.campaign_loading import load_campaign
from mailbounce.compose import MessageTemplate, make_message_id
from mailbounce.config import load_config
from mailbounce.delivery import DeliveryRun, Progress
from mailbounce.errors import ConfigError, MailbounceError, UsageError
from mailbounce.lists import ListEntry, ListReader, ListSummary
from mailbounce.lock import RunLock
from mailbounce.models import DeliveryState
from mailbounce.people import FORGET_PREFIX, forget_key
from mailbounce.store import Store, delivery_queries
from mailbounce.store import campaigns as campaign_rows
from mailbounce.store import sending as deliveries
from mailbounce.store.lists import import_list
from mailbounce.store.writer import SerialWriter
from mailbounce.tracking import SECRET_ENV

if TYPE_CHECKING:  # the checks load their knowledge base: imported only when checking
    from mailbounce.checks import CampaignParts

S = DeliveryState
CLAIM_BATCH = 100


ProgressFactory = Callable[[int], AbstractContextManager[Progress]]


@dataclass
class SendOptions:
    limit: int | None = None
    dry_run: bool = False
    resend_uncertain: bool = False
    force: bool = False
    check_dns: bool = True  # the pre-send check may query DNS (MX of the list's domains)
    now: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))
    log: Callable[[str], None] | None = None  # per-recipient lines at -v
    # What the pre-send check could not check, said before sending (stderr at the CLI);
    # without it, those lines go to the report's notes.
    warn: Callable[[str], None] | None = None


@dataclass
class ListReport:
    path: Path
    name: str
    summary: ListSummary


@dataclass
class SendReport:
    """What a run did (this run's outcomes) and where the campaign stands (its totals)."""

    campaign: str
    dry_run: bool
    lists: list[ListReport] = field(default_factory=list)
    attempted: int = 0
    states: dict[str, int] = field(default_factory=dict)  # the whole campaign, by state
    failed_by_reason: dict[str, int] = field(default_factory=dict)
    deferred_by_reason: dict[str, int] = field(default_factory=dict)
    skipped_by_cause: dict[str, int] = field(default_factory=dict)
    next_attempt_at: str | None = None
    recovered_uncertain: int = 0
    forgotten: int = 0  # rows dropped because the person was forgotten
    notes: list[str] = field(default_factory=list)
    outcomes: list[dict[str, Any]] = field(default_factory=list)  # this run, per recipient

    @property
    def uncertain(self) -> int:
        return self.states.get(str(S.UNCERTAIN), 0)


# --- entry point ----------------------------------------------------------------------


def send_campaign(
    db_path: Path,
    campaign: Campaign,
    options: SendOptions | None = None,
    progress: ProgressFactory | None = None,
) -> SendReport:
    """Send (or resume) ``campaign``; see the module docstring. Raises MailbounceError."""
    options = options or SendOptions()
    with RunLock(db_path), Store(db_path) as store:
        readers = [ListReader(path, columns=campaign.columns) for path in campaign.lists]
        columns = sorted({name for reader in readers for name in reader.columns})
        template = MessageTemplate(
            campaign.message, columns=columns, domain=campaign.message_domain
        )
        secret = tracking.secret_from(campaign.tracking_secret) if _wants_secret(campaign) else None
        report = SendReport(campaign=campaign.name, dry_run=options.dry_run)
        if options.dry_run:
            return _dry_run(store, campaign, readers, template, report)
        campaign_id = _prepare(store, campaign, readers, options, report)
        limit = options.limit if options.limit is not None else 1 << 62
        due = min(_count_due(store, campaign_id, options), limit)
        with SerialWriter(db_path) as writer, (progress or _no_progress)(due) as bar:
            run = DeliveryRun(
                writer, campaign, campaign_id, template, secret, now=options.now, log=options.log
            )
            touched = run.execute(bar, due)
        _summarise(store, campaign_id, report, touched)
        report.attempted = len(touched)
        return report


def send(
    db_path: Path,
    campaign_options: CampaignOptions,
    options: SendOptions | None = None,
    *,
    config_path: Path | None = None,
    progress: ProgressFactory | None = None,
) -> SendReport:
    """``mailbounce send``: resolve the campaign from its file and options, then send it."""
    campaign = load_campaign(campaign_options, load_config(config_path))
    return send_campaign(db_path, campaign, options, progress)


def summary_lines(report: SendReport) -> list[str]:
    """The end-of-run summary for people: totals, failures by reason, skips by cause."""
    if report.dry_run:
        head = f"dry run of campaign {report.campaign}: {report.states.get('would_send', 0)}"
        lines = [head + " messages would be sent; nothing was sent or recorded"]
    else:
        states = report.states
        lines = [
            f"campaign {report.campaign}: this run tried {report.attempted} recipients; in total "
            f"{states.get('sent', 0)} sent, {states.get('deferred', 0)} deferred, "
            f"{states.get('failed', 0)} failed, {states.get('uncertain', 0)} uncertain, "
            f"{states.get('expired', 0)} expired, {states.get('pending', 0)} not tried yet"
        ]
    for label, counts in (
        ("failed", report.failed_by_reason),
        ("deferred", report.deferred_by_reason),
        ("skipped", report.skipped_by_cause),
    ):
        if counts:
            lines.append(f"  {label}: " + ", ".join(f"{k} {v}" for k, v in counts.items()))
    for item in report.lists:
        summary = item.summary
        lines.append(
            f"  list {item.path.name}: {summary.data_rows} rows = {summary.accepted} accepted"
            f" ({summary.duplicates} duplicates) + {summary.rejected} invalid"
            f" + {summary.without_address} without address"
        )
    if report.next_attempt_at and report.states.get("deferred"):
        lines.append(f"  next retry due at {report.next_attempt_at}: run the same command again")
    if report.uncertain:
        lines.append(
            f"  {report.uncertain} uncertain: the connection broke after the message was"
            " sent; they may have it. Not resent unless --resend-uncertain"
        )
    lines.extend(f"  note: {note}" for note in report.notes)
    return lines


def _wants_secret(campaign: Campaign) -> bool:
    # A bounce domain needs tokens; without one, a configured secret still adds the header.
    return campaign.bounce_domain is not None or campaign.tracking_secret is not None


@contextmanager
def _no_progress(total: int) -> Iterator[Progress]:
    class _Silent:
        def advance(self, steps: int = 1) -> None:
            return None

    yield _Silent()


def run_check(db_path: Path, campaign: Campaign, options: SendOptions) -> list[str]:
    """The single call site of the pre-send check (``mailbounce check``), skipped by --force.

    Checks the campaign file, or for a campaign given by options alone the same parts
    built from the options. Refuses (exit 1) when the check finds an error; returns the
    warnings, for the summary. What could not be checked (DNS without a usable answer) is
    said through ``options.warn`` (else a note), never passed over as clean.
    ``options.check_dns`` False keeps the check off the network (demo, tests).
    """
    if options.force:
        return []
    from mailbounce.checks import Severity, check_campaign, has_errors

    found = check_campaign(
        campaign.source_file or _check_parts(campaign),
        config=campaign.config,
        db_path=db_path,
        dns=options.check_dns,
    )
    errors = [f for f in found.findings if f.severity is Severity.ERROR]
    if has_errors(found.findings):
        what = (
            f"`mailbounce check campaign {campaign.source_file}`"
            if campaign.source_file
            else "`mailbounce check`"
        )
        raise MailbounceError(
            f"the campaign does not pass the check ({len(errors)} errors; first: "
            f"{errors[0].message}); see {what}, fix them, or send anyway with --force"
        )
    notes = [f"check: {f.message}" for f in found.findings if f.severity is Severity.WARNING]
    for unchecked in found.unchecked:
        line = f"the pre-send check could not check: {unchecked}; sending without that part"
        if options.warn is not None:
            options.warn(line)
        else:
            notes.append(line)
    return notes


def _check_parts(campaign: Campaign) -> CampaignParts:
    """What the check reads, for a campaign given by options (no campaign file)."""
    from mailbounce.checks import CampaignParts, MessageContent

    spec = campaign.message
    name = spec.html_name if spec.html is not None else spec.text_name
    message = MessageContent(
        name,
        spec.html,
        spec.text,
        Path(name).parent,
        unsubscribe_header=bool(spec.list_unsubscribe_mailto or spec.list_unsubscribe_url),
    )
    return CampaignParts(campaign.lists, message, spec.from_addr, campaign.columns)


def _prepare(
    store: Store,
    campaign: Campaign,
    readers: list[ListReader],
    options: SendOptions,
    report: SendReport,
) -> int:
    existing = campaign_rows.find_campaign(store, campaign.name)
    if existing is None:
        # Checked before the first send only: resuming runs (cron) send the same, unchanged
        # message, and a check turning red half-way must not block the retries.
        report.notes.extend(run_check(store.path, campaign, options))
    settings = campaign.stored_settings()
    if existing is not None:
        unsafe, harmless = definition_changes(existing.settings, settings)
        if unsafe and not options.force:
            raise UsageError(
                f"campaign '{campaign.name}' was already started with a different message: "
                + "; ".join(unsafe)
                + ". Use a new campaign name, or --force to send the new version to the"
                " remaining recipients"
            )
        report.notes.extend(f"definition: {change}" for change in [*unsafe, *harmless])
    record = campaign_rows.save_campaign(
        store,
        campaign.name,
        subject=campaign.message.subject,
        from_addr=campaign.message.from_addr,
        settings=settings,
    )
    forgotten = _Forgotten(store, campaign)
    for reader in readers:
        imported = import_list(store, reader.path, forgotten.filter(reader))
        report.lists.append(ListReport(reader.path, imported.name, reader.summary))
        added = campaign_rows.add_list_recipients(store, record.id, imported.list_id)
        if existing is not None and added:
            report.notes.append(f"{added} new recipients from {reader.path.name}")
    recovery = deliveries.recover_interrupted(store, record.id)
    report.recovered_uncertain = recovery.uncertain
    if recovery.released or recovery.uncertain:
        report.notes.append(
            f"an interrupted run left {recovery.released} claimed (sent again) and "
            f"{recovery.uncertain} in flight (now uncertain: may have been delivered)"
        )
    if options.resend_uncertain:
        requeued = deliveries.requeue_uncertain(store, record.id)
        if requeued:
            report.notes.append(f"{requeued} uncertain recipients sent again (--resend-uncertain)")
    campaign_rows.skip_suppressed(store, record.id)
    forgotten.skip_pending(store, record.id)
    report.forgotten = forgotten.dropped
    return record.id


class _Forgotten:
    """Forgotten people are suppressed only as a keyed hash (``people.forget_key``): rows
    of an old list file that hash to one are dropped before import (no contact re-created)
    and counted as skipped ``forgotten``. Needs the tracking secret the hash was keyed with."""

    def __init__(self, store: Store, campaign: Campaign) -> None:
        secret = campaign.tracking_secret
        keys = campaign_rows.keyed_suppressions(store, FORGET_PREFIX)
        if keys and not secret:
            # Without the key, a forgotten person in an old list would be mailed again.
            raise ConfigError(
                f"{len(keys)} forgotten people are recorded only by a keyed hash; set "
                f"{SECRET_ENV} (the secret used when forgetting them) so they are not mailed"
            )
        self.secret = secret.reveal() if secret and keys else None
        self.keys = keys
        self.dropped = 0

    def filter(self, entries: Iterable[ListEntry]) -> Iterator[ListEntry]:
        for entry in entries:
            if (
                self.secret
                and entry.address
                and forget_key(self.secret, entry.address) in self.keys
            ):
                self.dropped += 1
                continue
            yield entry

    def skip_pending(self, store: Store, campaign_id: int) -> None:
        if self.secret is None:
            return
        secret = self.secret
        hashed = {
            a: forget_key(secret, a) for a in campaign_rows.pending_addresses(store, campaign_id)
        }
        campaign_rows.skip_hashed(store, campaign_id, hashed)


def _count_due(store: Store, campaign_id: int, options: SendOptions) -> int:
    counts = delivery_queries.state_counts(store, campaign_id)
    pending = counts.get(str(S.PENDING), 0)
    due_deferred = delivery_queries.count_due_deferred(store, campaign_id, _iso(options.now()))
    return pending + due_deferred


def _summarise(store: Store, campaign_id: int, report: SendReport, touched: list[int]) -> None:
    report.states = delivery_queries.state_counts(store, campaign_id)
    report.failed_by_reason = delivery_queries.grouped_counts(
        store, campaign_id, S.FAILED, "reason"
    )
    report.deferred_by_reason = delivery_queries.grouped_counts(
        store, campaign_id, S.DEFERRED, "reason"
    )
    skipped = delivery_queries.grouped_counts(store, campaign_id, S.SKIPPED, "skip_cause")
    for item in report.lists:
        if item.summary.without_address:
            skipped["no_address"] = skipped.get("no_address", 0) + item.summary.without_address
        if item.summary.duplicates:
            skipped["duplicate"] = skipped.get("duplicate", 0) + item.summary.duplicates
    if report.forgotten:
        skipped["forgotten"] = skipped.get("forgotten", 0) + report.forgotten
    report.skipped_by_cause = skipped
    report.next_attempt_at = delivery_queries.next_due(store, campaign_id)
    report.outcomes = delivery_queries.outcomes(store, campaign_id, touched)


def _dry_run(
    store: Store,
    campaign: Campaign,
    readers: list[ListReader],
    template: MessageTemplate,
    report: SendReport,
) -> SendReport:
    """Read the lists and compose every message, send nothing and write nothing."""
    seen: set[str] = set()
    skipped: dict[str, int] = {}
    for reader in readers:
        for entry in reader:
            if entry.address is None or entry.problem is not None:
                cause = "no_address" if entry.address is None else "invalid"
                skipped[cause] = skipped.get(cause, 0) + 1
                continue
            if entry.duplicate_of is not None or entry.address in seen:
                skipped["duplicate"] = skipped.get("duplicate", 0) + 1
                continue
            seen.add(entry.address)
            suppression = campaign_rows.suppression_cause(store, entry.address)
            if suppression is not None:
                skipped[suppression] = skipped.get(suppression, 0) + 1
                report.outcomes.append(
                    {"address": entry.address, "state": "skipped", "skip_cause": suppression}
                )
                continue
            template.render(
                address=entry.address,
                fields=entry.fields,
                message_id=make_message_id(campaign.name, entry.address, campaign.message_domain),
                token=None,
                campaign=campaign.name,
            )
            report.outcomes.append({"address": entry.address, "state": "would_send"})
        report.lists.append(ListReport(reader.path, reader.path.stem, reader.summary))
    report.skipped_by_cause = skipped
    report.states = {
        "would_send": len(seen) - sum(1 for o in report.outcomes if o["state"] == "skipped")
    }
    return report


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="seconds")


def _parse(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text) if text else None


__all__ = [
    "ListReport",
    "SendOptions",
    "SendReport",
    "run_check",
    "send",
    "send_campaign",
    "summary_lines",
]
