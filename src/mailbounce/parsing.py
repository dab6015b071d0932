"""``parse-bounces`` as a library: sources → analysis → correlation → store → records.

``BounceParse`` streams: iterate it for ``BounceRecord`` objects in input order; its
``summary`` is complete once iteration ends. Analysis runs in a process pool with
``jobs > 1`` (bounded look-ahead, so memory stays flat on any mailbox size); every store
write happens in this process, one transaction per ``batch_size`` messages. Records of a
batch are handed out only after its commit, and IMAP messages are flagged or moved only
after it too: what is printed, stored and acknowledged always agree.
"""

from __future__ import annotations

import hashlib
from collections import Counter, deque
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any, BinaryIO

from mailbounce.bounces import (
    DEFAULT_LIMITS,
    Analysis,
    ParseLimits,
    UnparseableMessage,
    Verdict,
    analyse_message,
)
from mailbounce.config import Config, env_secret
from mailbounce.correlate import NOT_FOUND, Correlation, correlate
from mailbounce.errors import ConfigError, UsageError
from mailbounce.models import BounceFacts, BounceRecord, Classification, Kind
from mailbounce.sources import (
    DEFAULT_MAX_MESSAGE_BYTES,
    ImapResume,
    ImapSource,
    RawMessage,
    open_source,
    uid_of,
)
from mailbounce.store import Store
from mailbounce.store import bounces as bounce_store
from mailbounce.store.contacts import record_event, suppress, suppression_of
from mailbounce.suppression import (
    SuppressionPolicy,
    counts_as_soft,
    decide,
    is_failure,
    parse_when,
    policy_from_config,
)
from mailbounce.tracking import SECRET_ENV, secret_from

DEFAULT_BATCH_SIZE = 500
# Messages per task sent to a worker process, and tasks in flight per worker: enough to
# hide the IPC latency, few enough that memory does not grow with the mailbox.
_CHUNK = 64
_TASKS_PER_WORKER = 3


@dataclass(frozen=True)
class ParseSettings:
    """How ``parse-bounces`` runs; from options and the ``bounces`` config section."""

    store: bool = True
    jobs: int = 1
    batch_size: int = DEFAULT_BATCH_SIZE
    move_to: str | None = None
    imap_ca_file: Path | None = None
    limits: ParseLimits = DEFAULT_LIMITS
    policy: SuppressionPolicy = field(default_factory=SuppressionPolicy)
    tracking_secret: bytes | None = None


def settings_from_config(
    config: Config,
    *,
    store: bool = True,
    jobs: int = 1,
    move_to: str | None = None,
    imap_ca_file: Path | None = None,
) -> ParseSettings:
    """Options win over config keys ``bounces.*`` and ``tracking.secret``."""
    section = config.section("bounces")
    if jobs < 1:
        raise UsageError(f"--jobs must be at least 1, got {jobs}")
    ca_file = imap_ca_file or _optional_path(section.get("imap_ca_file"))
    batch = section.get("batch_size", DEFAULT_BATCH_SIZE)
    if isinstance(batch, bool) or not isinstance(batch, int) or batch < 1:
        raise ConfigError(f"{config.path}: bounces.batch_size: expected a whole number ≥ 1")
    return ParseSettings(
        store=store,
        jobs=jobs,
        batch_size=batch,
        move_to=move_to or section.get("imap_move_to"),
        imap_ca_file=ca_file,
        limits=_limits(section, config.path),
        policy=policy_from_config(section),
        tracking_secret=_tracking_secret(config),
    )


def _optional_path(value: Any) -> Path | None:
    return Path(str(value)).expanduser() if value else None


def _limits(section: Any, path: Path | None) -> ParseLimits:
    values: dict[str, int] = {}
    for key in ("max_message_bytes", "max_header_bytes", "max_depth", "max_parts"):
        value = section.get(key)
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ConfigError(f"{path}: bounces.{key}: expected a whole number ≥ 1")
        values[key] = value
    return ParseLimits(**values)


def _tracking_secret(config: Config) -> bytes | None:
    """The secret tokens are verified with; None when neither config nor env sets one."""
    value = config.section("tracking").get("secret") or env_secret(SECRET_ENV)
    return secret_from(value) if value else None


# --------------------------------------------------------------------------- analysis


def iso_date(value: str | None) -> str | None:
    """A Date header as ISO 8601 UTC (the record contract); None when unreadable."""
    if not value:
        return None
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when is None:
        return None
    when = when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)
    return when.isoformat()


@dataclass(frozen=True, slots=True)
class Outcome:
    """One message after analysis (picklable: made in worker processes)."""

    source: str
    source_key: str
    analysis: Analysis | None
    problem: str | None
    date: str | None = None  # the bounce's Date as ISO 8601 UTC, computed in the worker


def _source_key(data: bytes, message_id: str | None) -> str:
    """The bounce's identity: its Message-ID, else a digest of its bytes."""
    if message_id:
        return message_id
    return "sha256:" + hashlib.sha256(data).hexdigest()


def analyse_raw(message: RawMessage, limits: ParseLimits = DEFAULT_LIMITS) -> Outcome:
    """Analyse one message; every failure becomes a quarantine reason, never an exception."""
    if message.size > len(message.data):
        return Outcome(
            message.source,
            _source_key(message.data, None),
            None,
            f"message is {message.size} bytes, over the size limit",
        )
    try:
        analysis = analyse_message(message.data, limits=limits)
    except UnparseableMessage as exc:
        return Outcome(message.source, _source_key(message.data, None), None, exc.reason)
    except Exception as exc:  # one bad message must never stop the batch (issue 3)
        problem = f"analysis failed: {type(exc).__name__}: {exc}"
        return Outcome(message.source, _source_key(message.data, None), None, problem)
    key = _source_key(message.data, analysis.message_id)
    return Outcome(message.source, key, analysis, None, iso_date(analysis.date))


def _analyse_chunk(chunk: list[RawMessage], limits: ParseLimits) -> list[Outcome]:
    return [analyse_raw(message, limits) for message in chunk]


def _chunks(messages: Iterable[RawMessage], size: int) -> Iterator[list[RawMessage]]:
    chunk: list[RawMessage] = []
    for message in messages:
        chunk.append(message)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def analyse_stream(
    messages: Iterable[RawMessage],
    limits: ParseLimits,
    pool: ProcessPoolExecutor | None,
    workers: int = 1,
) -> Iterator[Outcome]:
    """Outcomes in input order; with a pool, a bounded window of chunks in flight."""
    if pool is None:
        for message in messages:
            yield analyse_raw(message, limits)
        return
    window = max(2, workers * _TASKS_PER_WORKER)
    pending: deque[Future[list[Outcome]]] = deque()
    for chunk in _chunks(messages, _CHUNK):
        pending.append(pool.submit(_analyse_chunk, chunk, limits))
        if len(pending) >= window:
            yield from pending.popleft().result()
    while pending:
        yield from pending.popleft().result()


def _handled(outcome: Outcome) -> bool:
    """Recorded as a bounce or quarantined. Mail that is not a bounce (a member's reply to
    the bounce address) or that no detector understood stays unread where it is, for a
    person to see; resumption by UID keeps it from being read again."""
    analysis = outcome.analysis
    return analysis is None or analysis.verdict is Verdict.BOUNCE


def _start_pool(jobs: int) -> ProcessPoolExecutor | None:
    """A pool whose workers are already running (forked before any database is opened)."""
    if jobs <= 1:
        return None
    pool = ProcessPoolExecutor(jobs)
    pool.submit(int).result()
    return pool


# --------------------------------------------------------------------------- summary


@dataclass
class ParseSummary:
    """What a run found; printed on stderr by the command."""

    messages: int = 0
    records: int = 0
    by_kind: Counter[str] = field(default_factory=Counter)
    by_reason: Counter[str] = field(default_factory=Counter)
    not_bounces: int = 0
    stored: int = 0
    already_stored: int = 0
    deliveries_updated: int = 0
    suppressed: list[tuple[str, str]] = field(default_factory=list)
    quarantined: list[tuple[str, str]] = field(default_factory=list)
    unrecognised: list[str] = field(default_factory=list)
    forged: list[str] = field(default_factory=list)

    @property
    def has_findings(self) -> bool:
        """Something needs a person: unrecognised or quarantined messages (``--strict``)."""
        return bool(self.unrecognised or self.quarantined)


def make_record(
    source: str,
    analysis: Analysis,
    facts: BounceFacts,
    classification: Classification,
    campaign: str | None,
    date: str | None,
) -> BounceRecord:
    return BounceRecord(
        source=source,
        message_id=analysis.message_id,
        recipient=facts.recipient,
        action=facts.action,
        status=facts.status,
        replycode=facts.replycode,
        reason=classification.reason,
        kind=classification.kind,
        hardbounce=classification.hardbounce,
        party=classification.party,
        diagnostic=facts.diagnostic,
        remote_mta=facts.remote_mta,
        reporting_mta=facts.reporting_mta,
        feedback_type=facts.feedback_type,
        date=date,
        original_message_id=analysis.original_message_id,
        campaign=campaign,
        detector=analysis.detector or "",
    )


# --------------------------------------------------------------------------- the run


class BounceParse:
    """One ``parse-bounces`` run over ``specs``; iterate for the records."""

    def __init__(
        self,
        specs: Sequence[str],
        *,
        db: Path | None,
        settings: ParseSettings | None = None,
        stdin: BinaryIO | None = None,
    ) -> None:
        if not specs:
            raise UsageError("give at least one SOURCE (file, folder, mbox, -, imaps://...)")
        if specs.count("-") > 1:
            raise UsageError("stdin (-) can be read only once")
        self.settings = settings or ParseSettings()
        self.summary = ParseSummary()
        # Every source is checked before anything is read: a typo fails at once (exit 1).
        self._sources = [
            open_source(
                spec,
                stdin=stdin,
                imap_ca_file=self.settings.imap_ca_file,
                move_to=self.settings.move_to,
                max_message_bytes=min(
                    self.settings.limits.max_message_bytes, DEFAULT_MAX_MESSAGE_BYTES
                ),
            )
            for spec in specs
        ]
        self._db = db

    def _open_store(self) -> Store | None:
        if self._db is None:
            return None
        if not self.settings.store and not self._db.exists():
            return None  # --no-store never creates a database; correlation needs one
        return Store(self._db)

    def __iter__(self) -> Iterator[BounceRecord]:
        # The pool first: its workers must not inherit an open database connection.
        pool = _start_pool(self.settings.jobs)
        store = self._open_store()
        try:
            for source in self._sources:
                yield from self._run_source(source, store, pool)
        finally:
            if pool is not None:
                pool.shutdown(cancel_futures=True)
            for source in self._sources:
                if isinstance(source, ImapSource):
                    source.close()
            if store is not None:
                store.close()

    def _run_source(
        self,
        source: Any,
        store: Store | None,
        pool: ProcessPoolExecutor | None,
    ) -> Iterator[BounceRecord]:
        imap = source if isinstance(source, ImapSource) else None
        if imap is not None:
            self._prepare_imap(imap, store)
        batch: list[Outcome] = []
        for outcome in analyse_stream(source, self.settings.limits, pool, self.settings.jobs):
            batch.append(outcome)
            if len(batch) >= self.settings.batch_size:
                yield from self._commit(batch, store, imap)
                batch = []
        if batch:
            yield from self._commit(batch, store, imap)

    def _prepare_imap(self, imap: ImapSource, store: Store | None) -> None:
        writing = store is not None and self.settings.store
        if writing and store is not None:
            point = bounce_store.imap_resume_point(store, imap.key)
            imap.resume = ImapResume(*point) if point else None
        imap.connect()

    def _commit(
        self, batch: list[Outcome], store: Store | None, imap: ImapSource | None
    ) -> Iterator[BounceRecord]:
        writing = store is not None and self.settings.store
        records: list[BounceRecord] = []
        if store is not None and writing:
            with store.transaction():
                for outcome in batch:
                    records.extend(self._handle(outcome, store, write=True))
                if imap is not None and imap.uidvalidity is not None:
                    last = max(uid_of(o.source) for o in batch)
                    bounce_store.save_imap_progress(store, imap.key, imap.uidvalidity, last)
            if imap is not None:
                imap.acknowledge([uid_of(o.source) for o in batch if _handled(o)])
        else:
            for outcome in batch:
                records.extend(self._handle(outcome, store, write=False))
        yield from records

    def _handle(self, outcome: Outcome, store: Store | None, *, write: bool) -> list[BounceRecord]:
        summary = self.summary
        summary.messages += 1
        analysis = outcome.analysis
        if analysis is None:
            reason = outcome.problem or "cannot be analysed"
            summary.quarantined.append((outcome.source, reason))
            if write and store is not None:
                bounce_store.insert_quarantine(store, outcome.source_key, outcome.source, reason)
            return []
        if analysis.verdict is Verdict.NOT_BOUNCE:
            summary.not_bounces += 1
            return []
        if analysis.verdict is Verdict.UNRECOGNISED or not analysis.results:
            summary.unrecognised.append(outcome.source)
            return []
        records = []
        for facts, classification in analysis.results:
            correlation = self._correlate(store, analysis, facts)
            if not correlation.trusted and outcome.source not in summary.forged:
                summary.forged.append(outcome.source)
            record = make_record(
                outcome.source, analysis, facts, classification, correlation.campaign, outcome.date
            )
            summary.records += 1
            summary.by_kind[str(record.kind)] += 1
            summary.by_reason[str(record.reason)] += 1
            if write and store is not None:
                self._store_record(store, outcome.source_key, record, correlation)
            records.append(record)
        return records

    def _correlate(
        self, store: Store | None, analysis: Analysis, facts: BounceFacts
    ) -> Correlation:
        if store is None:
            return NOT_FOUND
        return correlate(
            store,
            recipient=facts.recipient,
            tokens=analysis.tracking_tokens,
            original_message_id=analysis.original_message_id,
            secret=self.settings.tracking_secret,
        )

    def _store_record(
        self, store: Store, source_key: str, record: BounceRecord, correlation: Correlation
    ) -> None:
        delivery = correlation.delivery
        inserted = bounce_store.insert_bounce(
            store,
            record,
            source_key=source_key,
            campaign_id=delivery.campaign_id if delivery else None,
            delivery_id=delivery.delivery_id if delivery else None,
        )
        if not inserted:
            self.summary.already_stored += 1
            return
        self.summary.stored += 1
        if not correlation.trusted:
            return  # a forged bounce is kept for the record, and acts on nothing
        address = delivery.address if delivery else record.recipient
        record_event(
            store.conn,
            "bounce",
            address=address,
            campaign_id=delivery.campaign_id if delivery else None,
            delivery_id=delivery.delivery_id if delivery else None,
            data={
                "reason": str(record.reason),
                "kind": str(record.kind),
                "status": record.status,
                "source": record.source,
            },
        )
        failure = is_failure(record.action) and record.kind in (Kind.TEMPORARY, Kind.PERMANENT)
        if (
            delivery is not None
            and failure
            and bounce_store.reject_delivery(store, delivery.delivery_id, record)
        ):
            self.summary.deliveries_updated += 1
        self._apply_policy(store, address, record)

    def _apply_policy(self, store: Store, address: str, record: BounceRecord) -> None:
        classification = Classification(record.reason, record.kind, record.hardbounce, record.party)
        history: list[datetime] = []
        if counts_as_soft(classification, record.action):
            dates = bounce_store.soft_bounce_dates(store, record.recipient)
            history = [when for when in map(parse_when, dates) if when is not None]
        decision = decide(self.settings.policy, classification, record.action, history)
        if decision is None or suppression_of(store, address) is not None:
            return
        suppress(
            store.conn,
            address,
            decision.cause,
            reason=str(record.reason),
            detail=decision.detail,
            data={"source": record.source, "campaign": record.campaign},
        )
        self.summary.suppressed.append((address, str(decision.cause)))


def parse_bounces(
    specs: Sequence[str],
    *,
    db: Path | None,
    settings: ParseSettings | None = None,
    stdin: BinaryIO | None = None,
) -> BounceParse:
    """The library entry point of ``mailbounce parse-bounces``: iterate the result."""
    return BounceParse(specs, db=db, settings=settings, stdin=stdin)
