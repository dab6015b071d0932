"""What ``parse-bounces`` does with a batch of analysed messages: correlate, store, record.

One ``Recorder`` turns a batch of ``Outcome``s into ``BounceRecord``s, writing the store in
one transaction per batch and counting into a ``ParseSummary``. The main process uses it
for every source; worker processes only analyse (``mailbounce.analysis_pool``).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from json.encoder import encode_basestring as _text
from json.encoder import encode_basestring_ascii as _quoted

from mailbounce.analysis_pool import Outcome
from mailbounce.batch_lookups import BatchLookups
from mailbounce.batch_writes import BatchWrites
from mailbounce.bounces import Analysis, Verdict
from mailbounce.correlate import NOT_FOUND, Correlation, correlate
from mailbounce.models import BounceFacts, BounceRecord, Classification, Kind
from mailbounce.parse_settings import ParseSettings
from mailbounce.sources import ImapSource, uid_of
from mailbounce.store import Store, bounce_rows
from mailbounce.store import bounces as bounce_store
from mailbounce.store.contacts import suppress
from mailbounce.suppression import counts_as_soft, decide, is_failure, parse_when

# Enum members read once: under Python 3.11 ``Kind.TEMPORARY`` costs ~0.4 µs a read (the
# class's member look-up), a module global ~0.03 µs, and these are read for every record.
_NOT_BOUNCE = Verdict.NOT_BOUNCE
_UNRECOGNISED = Verdict.UNRECOGNISED
_FAILURE_KINDS = (Kind.TEMPORARY, Kind.PERMANENT)

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
    # Positional, in the fields' order: a call by keywords matched its 18 names each time.
    return BounceRecord(
        source,
        analysis.message_id,
        facts.recipient,
        facts.action,
        facts.status,
        facts.replycode,
        classification.reason,
        classification.kind,
        classification.hardbounce,
        classification.party,
        facts.diagnostic,
        facts.remote_mta,
        facts.reporting_mta,
        facts.feedback_type,
        date,
        analysis.original_message_id,
        campaign,
        analysis.detector or "",
    )


def record_json(record: BounceRecord) -> str:
    """The record's line of ``parse-bounces --format jsonl``: the very text of
    ``json.dumps(record.to_dict(), ensure_ascii=False)``, written out (DESIGN §5's keys in
    their order). The dict and the encoder's pass over it cost ~63 k instructions a record,
    this ~27 k, most of it the escaping of the values (``tests/test_record_json.py``); a
    None is tested here, not by a call per optional value (session 8)."""
    r, q = record, _text
    message_id, action, status, replycode = r.message_id, r.action, r.status, r.replycode
    remote_mta, reporting_mta, feedback_type = r.remote_mta, r.reporting_mta, r.feedback_type
    date, original_message_id, campaign = r.date, r.original_message_id, r.campaign
    return (
        f'{{"source": {q(r.source)},'
        f' "message_id": {"null" if message_id is None else q(message_id)},'
        f' "recipient": {q(r.recipient)}, "action": {"null" if action is None else q(action)},'
        f' "status": {"null" if status is None else q(status)},'
        f' "replycode": {"null" if replycode is None else q(replycode)},'
        f' "reason": {q(r.reason)}, "kind": {q(r.kind)},'
        f' "hardbounce": {"true" if r.hardbounce else "false"}, "party": {q(r.party)},'
        f' "diagnostic": {q(r.diagnostic)},'
        f' "remote_mta": {"null" if remote_mta is None else q(remote_mta)},'
        f' "reporting_mta": {"null" if reporting_mta is None else q(reporting_mta)},'
        f' "feedback_type": {"null" if feedback_type is None else q(feedback_type)},'
        f' "date": {"null" if date is None else q(date)},'
        f' "original_message_id":'
        f" {'null' if original_message_id is None else q(original_message_id)},"
        f' "campaign": {"null" if campaign is None else q(campaign)},'
        f' "detector": {q(r.detector)}}}'
    )


def _event_data(record: BounceRecord) -> str:
    """``json.dumps`` of a bounce event's data ``{"reason", "kind", "status", "source"}``,
    the very text, written out: ``json.dumps`` of a dict took ~9 µs, a sixth of a stored
    record's Python work (its strings go through the same escaping function)."""
    status = record.status
    return (
        f'{{"reason": {_quoted(str(record.reason))}, "kind": {_quoted(str(record.kind))},'
        f' "status": {"null" if status is None else _quoted(status)},'
        f' "source": {_quoted(record.source)}}}'
    )


def _handled(outcome: Outcome) -> bool:
    """Recorded as a bounce or quarantined. Mail that is not a bounce (a member's reply to
    the bounce address) or that no detector understood stays unread where it is, for a
    person to see; resumption by UID keeps it from being read again."""
    analysis = outcome.analysis
    return analysis is None or (analysis.verdict is Verdict.BOUNCE and bool(analysis.results))


class Recorder:
    """Correlates, stores and records batches of one run, counting into ``summary``."""

    def __init__(self, settings: ParseSettings, summary: ParseSummary) -> None:
        self.settings = settings
        self.summary = summary

    def commit(
        self, batch: list[Outcome], store: Store | None, imap: ImapSource | None
    ) -> Iterator[BounceRecord]:
        writing = store is not None and self.settings.store
        records: list[BounceRecord] = []
        if store is not None and writing:
            with store.transaction():
                writes = BatchWrites(store, (o.source_key for o in batch if o.analysis))
                lookups = BatchLookups(store, batch, writes)
                for outcome in batch:
                    records.extend(self._handle(outcome, writes, lookups))
                writes.flush()
                if imap is not None and imap.uidvalidity is not None:
                    last = max(uid_of(o.source) for o in batch)
                    bounce_store.save_imap_progress(store, imap.key, imap.uidvalidity, last)
            if imap is not None:
                imap.acknowledge([uid_of(o.source) for o in batch if _handled(o)])
        else:
            reading = BatchLookups(store, batch) if store is not None else None
            for outcome in batch:
                records.extend(self._handle(outcome, None, reading))
        yield from records

    def _handle(
        self, outcome: Outcome, writer: BatchWrites | None, lookups: BatchLookups | None
    ) -> list[BounceRecord]:
        """One message's records; ``writer`` the batch's writes when writing, else None."""
        summary = self.summary
        summary.messages += 1
        analysis = outcome.analysis
        if analysis is None:
            reason = outcome.problem or "cannot be analysed"
            summary.quarantined.append((outcome.source, reason))
            if writer is not None:
                bounce_store.insert_quarantine(
                    writer.store, outcome.source_key, outcome.source, reason
                )
            return []
        if analysis.verdict is _NOT_BOUNCE:
            summary.not_bounces += 1
            return []
        if analysis.verdict is _UNRECOGNISED or not analysis.results:
            summary.unrecognised.append(outcome.source)
            return []
        records = []
        secret = self.settings.tracking_secret
        for facts, classification in analysis.results:
            correlation = (
                NOT_FOUND
                if lookups is None
                else correlate(
                    lookups.store,
                    recipient=facts.recipient,
                    tokens=analysis.tracking_tokens,
                    original_message_id=analysis.original_message_id,
                    secret=secret,
                    cache=lookups.deliveries,
                )
            )
            if not correlation.trusted and outcome.source not in summary.forged:
                summary.forged.append(outcome.source)
            record = make_record(
                outcome.source, analysis, facts, classification, correlation.campaign, outcome.date
            )
            summary.records += 1
            summary.by_kind[str(record.kind)] += 1
            summary.by_reason[str(record.reason)] += 1
            if writer is not None and lookups is not None:
                self._store_record(
                    writer, lookups, outcome.source_key, record, classification, correlation
                )
            records.append(record)
        return records

    def _store_record(
        self,
        writes: BatchWrites,
        lookups: BatchLookups,
        source_key: str,
        record: BounceRecord,
        classification: Classification,
        correlation: Correlation,
    ) -> None:
        """``classification``: the record's own (its reason, kind, hardbounce and party)."""
        delivery = correlation.delivery
        store = writes.store
        recipient = lookups.key(record.recipient)
        if not writes.is_new(source_key, recipient):
            self.summary.already_stored += 1
            return
        campaign_id = delivery.campaign_id if delivery else None
        delivery_id = delivery.delivery_id if delivery else None
        row = bounce_rows.bounce_row(
            record,
            source_key=source_key,
            recipient=recipient,
            campaign_id=campaign_id,
            delivery_id=delivery_id,
            recorded_at=lookups.now,
        )
        if delivery is None:
            writes.add_bounce(row)
        else:
            # Its triggers update the delivery's report columns: written now, in order.
            writes.flush()
            bounce_rows.add_bounces(store, [row])
        lookups.recorded(record)
        self.summary.stored += 1
        if not correlation.trusted:
            return  # a forged bounce is kept for the record, and acts on nothing
        address = delivery.address if delivery else record.recipient
        # One time for the batch's events, as for its bounces (``lookups.now``).
        writes.add_event(
            (lookups.now, "bounce", address, campaign_id, delivery_id, _event_data(record))
        )
        failure = is_failure(record.action) and record.kind in _FAILURE_KINDS
        if (
            delivery is not None
            and failure
            and bounce_store.reject_delivery(store, delivery.delivery_id, record)
        ):
            self.summary.deliveries_updated += 1
            lookups.deliveries.forget(delivery)
        self._apply_policy(writes, lookups, address, record, classification)

    def _apply_policy(
        self,
        writes: BatchWrites,
        lookups: BatchLookups,
        address: str,
        record: BounceRecord,
        classification: Classification,
    ) -> None:
        if lookups.is_suppressed(address):
            return  # whatever the decision: its history is not even read
        history: list[datetime] = []
        if counts_as_soft(classification, record.action):
            dates = lookups.soft_bounce_dates(record.recipient)
            history = [when for when in map(parse_when, dates) if when is not None]
        decision = decide(self.settings.policy, classification, record.action, history)
        if decision is None:
            return
        lookups.suppressed(address)
        writes.flush()  # the events before this suppression's, in order
        suppress(
            writes.store.conn,
            address,
            decision.cause,
            reason=str(record.reason),
            detail=decision.detail,
            data={"source": record.source, "campaign": record.campaign},
        )
        self.summary.suppressed.append((address, str(decision.cause)))
