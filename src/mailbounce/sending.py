"""The send run: lists into deliveries, then concurrent, rate-limited, resumable delivery.

``send_campaign`` is the whole of ``mailbounce send``. In order: take the run lock; read and
import the lists; compile the message (a template error stops everything before any send);
create or resume the campaign, refusing a changed content; settle what a killed run left
(``claimed`` → pending, ``in_flight`` → uncertain); skip suppressed addresses; then the
send loop (``delivery``) drives ``concurrency`` SMTP connections from one thread and sends
the due recipients (pending, and deferred whose ``next_attempt_at`` has come), committing
the transitions of all its connections together, tick by tick. With ``--processes N``,
the connections are shared by worker processes, each running that loop on the same campaign
(``send_split``: how many, how the limits are split; ``send_workers``: Ctrl-C and crashes).

Every state change is committed before the next network step (DESIGN §6): ``in_flight`` is
committed after the server's 354 and before the data and final dot are written, so a crash
can only leave ``claimed`` (never written: sent again safely) or ``in_flight`` (maybe
delivered: ``uncertain``, never resent unless asked).

The run's report and summary lines are in ``send_report``, the pre-send check in
``presend_check``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from mailbounce import ctrl_c, send_split, send_workers, tracking
from mailbounce.campaign import Campaign, CampaignOptions
from mailbounce.campaign_changes import definition_changes
from mailbounce.campaign_loading import load_campaign
from mailbounce.compose import MessageTemplate, make_message_id, message_id_maker
from mailbounce.config import load_config
from mailbounce.delivery import DeliveryRun, Progress
from mailbounce.errors import ConfigError, UsageError
from mailbounce.lists import ListEntry, ListReader
from mailbounce.lock import RunLock
from mailbounce.models import DeliveryState
from mailbounce.people import FORGET_PREFIX, forget_key
from mailbounce.presend_check import run_check
from mailbounce.send_report import ListReport, SendReport, summarise_run
from mailbounce.store import Store, delivery_queries
from mailbounce.store import campaigns as campaign_rows
from mailbounce.store import sending as deliveries
from mailbounce.store.lists import import_list
from mailbounce.store.writer import Committer
from mailbounce.tracking import SECRET_ENV

S = DeliveryState

ProgressFactory = Callable[[int], AbstractContextManager[Progress]]


@dataclass
class SendOptions:
    limit: int | None = None
    dry_run: bool = False
    resend_uncertain: bool = False
    force: bool = False
    # Worker processes sharing the connections (``send_workers``); None: one (see
    # ``send_split`` for why), within the connections and limits.
    processes: int | None = None
    check_dns: bool = True  # the pre-send check may query DNS (MX of the list's domains)
    now: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))
    log: Callable[[str], None] | None = None  # per-recipient lines at -v
    # What the pre-send check could not check, said before sending (stderr at the CLI);
    # without it, those lines go to the report's notes.
    warn: Callable[[str], None] | None = None


# --- entry point ----------------------------------------------------------------------


def send_campaign(
    db_path: Path,
    campaign: Campaign,
    options: SendOptions | None = None,
    progress: ProgressFactory | None = None,
) -> SendReport:
    """Send (or resume) ``campaign``; see the module docstring. Raises MailbounceError."""
    options = options or SendOptions()
    with RunLock(db_path):
        with Store(db_path) as store:
            readers = [ListReader(path, columns=campaign.columns) for path in campaign.lists]
            columns = sorted({name for reader in readers for name in reader.columns})
            template = MessageTemplate(
                campaign.message, columns=columns, domain=campaign.message_domain
            )
            secret = (
                tracking.secret_from(campaign.tracking_secret) if _wants_secret(campaign) else None
            )
            report = SendReport(campaign=campaign.name, dry_run=options.dry_run)
            if options.dry_run:
                return _dry_run(store, campaign, readers, template, report)
            campaign_id = _prepare(store, campaign, readers, options, report)
            limit = options.limit if options.limit is not None else 1 << 62
            due = min(_count_due(store, campaign_id, options), limit)
            shares = send_split.plan_split(
                campaign, due=due, limited=options.limit is not None, processes=options.processes
            )
            # The last connection to close checkpoints the WAL: the list import's ~16 MB of
            # pages for 20,000 rows, 0.1-0.3 s of copying and fsyncs before the first
            # message. A run in this process keeps an idle connection open from here to its
            # end, so the send's checkpoint thread (``store.writer``) copies them while it
            # sends, and the end of the run the rest (issue 2). Workers are forked with no
            # connection open (SQLite's state must not cross a fork).
            holder = Store(db_path) if len(shares) == 1 else None
        try:
            deliver = _Deliverer(db_path, campaign_id, template, secret, options.now)
            reporting = _Reporting(progress or _no_progress, due, options.log)
            touched = _deliver(shares, deliver, reporting)
        finally:
            if holder is not None:
                holder.close()
        with Store(db_path) as store:
            summarise_run(store, campaign_id, report, touched)
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


def _deliver(
    shares: list[send_split.Share],
    deliver: _Deliverer,
    reporting: _Reporting,
) -> list[int]:
    """Send the due recipients, in this process or in workers; the ids decided."""
    if len(shares) == 1:
        with reporting() as reporter:
            return deliver(shares[0], reporter)
    # The bar opens once the workers are forked (it may run a thread of its own).
    return send_workers.run_split(shares, deliver, reporting)


@dataclass(frozen=True)
class _Reporting:
    """Opens the progress bar of ``due`` recipients; the run's progress and ``-v`` lines."""

    progress: ProgressFactory
    due: int
    log: Callable[[str], None] | None

    @contextmanager
    def __call__(self) -> Iterator[send_workers.Reporter]:
        with self.progress(self.due) as bar:
            yield send_workers.Reporter(bar.advance, self.log)


@dataclass(frozen=True)
class _Deliverer:
    """The send loop of one share of the run (``send_workers.Deliver``), in this process
    or in a worker: its own commits (and connection), its share's connections."""

    db_path: Path
    campaign_id: int
    template: MessageTemplate
    secret: bytes | None
    now: Callable[[], datetime]

    def __call__(self, share: send_split.Share, reporter: send_workers.Reporter) -> list[int]:
        with Committer(self.db_path) as writer:
            run = DeliveryRun(
                writer,
                share.campaign,
                self.campaign_id,
                self.template,
                self.secret,
                now=self.now,
                log=reporter.log,
            )
            # Ctrl-C acted on where the loop waits, not mid-step (``ctrl_c``).
            with send_workers.stop_requests(run.errors), ctrl_c.deferred():
                return run.execute(reporter, share.limit)


def _wants_secret(campaign: Campaign) -> bool:
    # A bounce domain needs tokens; without one, a configured secret still adds the header.
    return campaign.bounce_domain is not None or campaign.tracking_secret is not None


@contextmanager
def _no_progress(total: int) -> Iterator[Progress]:
    class _Silent:
        def advance(self, steps: int = 1) -> None:
            return None

    yield _Silent()


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
        added = campaign_rows.add_list_recipients(
            store,
            record.id,
            imported.list_id,
            message_id=message_id_maker(campaign.name, campaign.message_domain),
        )
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

    def filter(self, entries: Iterable[ListEntry]) -> Iterable[ListEntry]:
        if not self.secret:  # nobody forgotten: the rows as they are, not through a generator
            return entries
        return self._kept(entries)

    def _kept(self, entries: Iterable[ListEntry]) -> Iterator[ListEntry]:
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


__all__ = [
    "SendOptions",
    "send",
    "send_campaign",
]
