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

import queue
import threading
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

from mailbounce import tracking
from mailbounce.addresses import domain_of
from mailbounce.campaign import Campaign, CampaignOptions, definition_changes, load_campaign
from mailbounce.classify import classify_smtp_reply
from mailbounce.compose import MessageTemplate, make_message_id
from mailbounce.config import load_config
from mailbounce.errors import MailbounceError, UsageError
from mailbounce.lists import ListReader, ListSummary
from mailbounce.lock import RunLock
from mailbounce.models import Classification, DeliveryState, Kind, SuppressionCause
from mailbounce.ratelimit import DomainGate, RateLimiter
from mailbounce.smtp import Result, SendResult, SmtpClient, crash_point
from mailbounce.store import Store
from mailbounce.store import sending as deliveries
from mailbounce.store.lists import import_list

S = DeliveryState
CLAIM_BATCH = 100


class Progress(Protocol):
    def advance(self, steps: int = 1) -> None: ...


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
        run = _Run(db_path, campaign, campaign_id, template, secret, options)
        due = min(_count_due(store, campaign_id, options), options.limit or 1 << 62)
        with (progress or _no_progress)(due) as bar:
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

    Refuses (exit 1) when the check finds an error; returns the warnings, for the summary.
    The check reads a campaign file: a campaign given by options alone is not checked (a
    note says so). ``options.check_dns`` False keeps the check off the network (demo).
    """
    if options.force:
        return []
    if campaign.source_file is None:
        return ["not checked before sending (the check needs a campaign file)"]
    from mailbounce.checks import Severity, check_campaign, has_errors

    found = check_campaign(
        campaign.source_file, config=campaign.config, db_path=db_path, dns=options.check_dns
    )
    errors = [f for f in found.findings if f.severity is Severity.ERROR]
    if has_errors(found.findings):
        raise MailbounceError(
            f"the campaign does not pass the check ({len(errors)} errors; first: "
            f"{errors[0].message}); see `mailbounce check campaign {campaign.source_file}`,"
            " fix them, or send anyway with --force"
        )
    return [f"check: {f.message}" for f in found.findings if f.severity is Severity.WARNING]


def _prepare(
    store: Store,
    campaign: Campaign,
    readers: list[ListReader],
    options: SendOptions,
    report: SendReport,
) -> int:
    report.notes.extend(run_check(store.path, campaign, options))
    existing = deliveries.find_campaign(store, campaign.name)
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
    record = deliveries.save_campaign(
        store,
        campaign.name,
        subject=campaign.message.subject,
        from_addr=campaign.message.from_addr,
        settings=settings,
    )
    for reader in readers:
        imported = import_list(store, reader.path, reader)
        report.lists.append(ListReport(reader.path, imported.name, reader.summary))
        added = deliveries.add_list_recipients(store, record.id, imported.list_id)
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
    deliveries.skip_suppressed(store, record.id)
    return record.id


def _count_due(store: Store, campaign_id: int, options: SendOptions) -> int:
    counts = deliveries.state_counts(store, campaign_id)
    pending = counts.get(str(S.PENDING), 0)
    due_deferred = deliveries.count_due_deferred(store, campaign_id, _iso(options.now()))
    return pending + due_deferred


def _summarise(store: Store, campaign_id: int, report: SendReport, touched: list[int]) -> None:
    report.states = deliveries.state_counts(store, campaign_id)
    report.failed_by_reason = deliveries.grouped_counts(store, campaign_id, S.FAILED, "reason")
    report.deferred_by_reason = deliveries.grouped_counts(store, campaign_id, S.DEFERRED, "reason")
    skipped = deliveries.grouped_counts(store, campaign_id, S.SKIPPED, "skip_cause")
    for item in report.lists:
        if item.summary.without_address:
            skipped["no_address"] = skipped.get("no_address", 0) + item.summary.without_address
        if item.summary.duplicates:
            skipped["duplicate"] = skipped.get("duplicate", 0) + item.summary.duplicates
    report.skipped_by_cause = skipped
    report.next_attempt_at = deliveries.next_due(store, campaign_id)
    report.outcomes = deliveries.outcomes(store, campaign_id, touched)


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
            suppression = deliveries.suppression_cause(store, entry.address)
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


# --- the run --------------------------------------------------------------------------


class _Claims:
    """Hands out claimed recipients to the workers, claiming ``CLAIM_BATCH`` at a time."""

    def __init__(self, campaign_id: int, now: str, limit: int) -> None:
        self.campaign_id = campaign_id
        self.now = now
        self.remaining = limit
        self.stopped = False
        self._buffer: list[deliveries.Delivery] = []
        self._lock = threading.Lock()

    def next(self, store: Store, worker: str) -> deliveries.Delivery | None:
        with self._lock:
            if self.stopped:
                return None
            if not self._buffer and self.remaining > 0:
                batch = deliveries.claim_due(
                    store,
                    self.campaign_id,
                    worker=worker,
                    now=self.now,
                    limit=min(CLAIM_BATCH, self.remaining),
                )
                self.remaining -= len(batch)
                if not batch:
                    self.remaining = 0
                self._buffer = batch[::-1]
                crash_point("after_claim")
            return self._buffer.pop() if self._buffer else None

    def stop(self) -> list[int]:
        """Stop handing out; return the ids claimed but never handed out."""
        with self._lock:
            self.stopped = True
            left, self._buffer = [d.id for d in self._buffer], []
            return left


class _Run:
    def __init__(
        self,
        db_path: Path,
        campaign: Campaign,
        campaign_id: int,
        template: MessageTemplate,
        secret: bytes | None,
        options: SendOptions,
    ) -> None:
        self.db_path = db_path
        self.campaign = campaign
        self.campaign_id = campaign_id
        self.template = template
        self.secret = secret
        self.options = options
        self.rate = RateLimiter(campaign.rate) if campaign.rate else None
        self.gate = DomainGate(dict(campaign.domains))
        self.results: queue.Queue[int] = queue.Queue()
        self.errors: list[BaseException] = []

    def execute(self, bar: Progress, due: int) -> list[int]:
        """Run the workers; return the ids of the deliveries this run decided."""
        claims = _Claims(self.campaign_id, _iso(self.options.now()), due)
        workers = [
            threading.Thread(target=self._worker, args=(claims, n), name=f"send-{n}", daemon=True)
            for n in range(min(self.campaign.concurrency, max(due, 1)))
        ]
        touched: list[int] = []
        try:
            for worker in workers:
                worker.start()
            while any(worker.is_alive() for worker in workers) or not self.results.empty():
                try:
                    touched.append(self.results.get(timeout=0.1))
                    bar.advance()
                except queue.Empty:
                    continue
        finally:
            left = claims.stop()
            for worker in workers:
                worker.join()
            while not self.results.empty():
                touched.append(self.results.get())
            if left:
                with Store(self.db_path) as store:
                    deliveries.release_claims(store, left)
        if self.errors:
            raise self.errors[0]
        return touched

    def _worker(self, claims: _Claims, number: int) -> None:
        name = f"{threading.get_native_id()}-{number}"
        client = SmtpClient(self.campaign.smtp)
        try:
            with Store(self.db_path) as store:
                while (delivery := claims.next(store, name)) is not None:
                    try:
                        self._deliver(store, client, delivery)
                    except BaseException:
                        deliveries.release_claims(store, [delivery.id])
                        raise
                    self.results.put(delivery.id)
        except BaseException as exc:  # reported by execute(); the other workers stop
            if not isinstance(exc, MailbounceError | KeyboardInterrupt):
                exc.add_note(f"while sending campaign {self.campaign.name}")
            self.errors.append(exc)
            left = claims.stop()
            if left:
                with Store(self.db_path) as store:
                    deliveries.release_claims(store, left)
        finally:
            client.close()

    def _deliver(self, store: Store, client: SmtpClient, delivery: deliveries.Delivery) -> None:
        now = self.options.now()
        domain = domain_of(delivery.address)
        until = self.gate.backed_off_until(domain)
        if until is not None and until > now:
            outcome = deliveries.Outcome(
                S.DEFERRED,
                reply=f"not tried: {domain} closed a connection with 421 in this run",
                next_attempt_at=_iso(until),
                attempted=False,
            )
            deliveries.record_outcome(
                store, delivery, outcome, now=_iso(now), counted_in_flight=False
            )
            return
        token = (
            tracking.make_token(self.secret, self.campaign_id, delivery.id) if self.secret else None
        )
        message_id = make_message_id(
            self.campaign.name, delivery.address, self.campaign.message_domain
        )
        sender = self.campaign.envelope_from
        if token and self.campaign.bounce_domain:
            sender = tracking.verp_sender(
                token, self.campaign.bounce_domain, self.campaign.verp_prefix
            )
        data = self.template.render(
            address=delivery.address,
            fields=delivery.fields,
            message_id=message_id,
            token=token,
            campaign=self.campaign.name,
            date=now,
        )
        in_flight = False

        def before_data() -> None:
            nonlocal in_flight
            deliveries.mark_in_flight(
                store, delivery.id, token=token, message_id=message_id, now=_iso(now)
            )
            in_flight = True
            crash_point("after_in_flight")

        with self.gate.slot(domain):
            if self.rate is not None:
                self.rate.take()
            result = client.send(sender, delivery.address, data, before_data)
        outcome = self._outcome(result, delivery, now, domain)
        crash_point("after_reply")
        deliveries.record_outcome(
            store, delivery, outcome, now=_iso(now), counted_in_flight=in_flight
        )
        crash_point("after_commit")
        if self.options.log is not None:
            self.options.log(f"{delivery.address}: {outcome.state} {result.reply}".rstrip())

    def _outcome(
        self, result: SendResult, delivery: deliveries.Delivery, now: datetime, domain: str
    ) -> deliveries.Outcome:
        if result.result is Result.ACCEPTED:
            return deliveries.Outcome(S.SENT, reply=result.reply, replycode=str(result.code))
        if result.result is Result.LOST_AFTER_DOT:
            return deliveries.Outcome(
                S.UNCERTAIN, reply=f"connection lost after the end of data: {result.text}"
            )
        if result.result is Result.LOST_BEFORE_DOT:
            cls = classify_smtp_reply(
                421, f"4.4.2 connection lost at {result.stage}: {result.text}"
            )
            return self._deferred(
                delivery, now, cls, f"connection lost at {result.stage}: {result.text}", None, None
            )
        code = result.code or 451
        cls = classify_smtp_reply(code, result.text, delivery.address)
        status = _status(result.text, code)
        if code == 421:
            self.gate.back_off(domain, now + self.campaign.retry.first)
        if cls.kind is Kind.TEMPORARY or 400 <= code < 500:
            return self._deferred(delivery, now, cls, result.reply, str(code), status)
        return deliveries.Outcome(
            S.FAILED,
            reply=result.reply,
            replycode=str(code),
            status=status,
            classification=cls,
            suppress_as=SuppressionCause.INVALID if cls.hardbounce else None,
        )

    def _deferred(
        self,
        delivery: deliveries.Delivery,
        now: datetime,
        cls: Classification,
        reply: str,
        replycode: str | None,
        status: str | None,
    ) -> deliveries.Outcome:
        first = _parse(delivery.first_attempt_at) or now
        when = self.campaign.retry.next_attempt(
            attempts=delivery.attempts + 1, first_attempt_at=first, now=now
        )
        return deliveries.Outcome(
            S.DEFERRED if when is not None else S.EXPIRED,
            reply=reply,
            replycode=replycode,
            status=status,
            classification=cls,
            next_attempt_at=_iso(when) if when is not None else None,
        )


def _status(text: str, code: int) -> str | None:
    from mailbounce.classify import find_enhanced_status

    status = find_enhanced_status(text)
    return status if status is not None and status[0] == str(code)[0] else None


__all__ = [
    "ListReport",
    "SendOptions",
    "SendReport",
    "run_check",
    "send",
    "send_campaign",
    "summary_lines",
]
