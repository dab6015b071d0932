"""What a send run reports: this run's outcomes, the campaign's totals, the summary lines."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mailbounce.lists import ListSummary
from mailbounce.models import DeliveryState
from mailbounce.store import Store, delivery_queries

S = DeliveryState


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


def summarise_run(store: Store, campaign_id: int, report: SendReport, touched: list[int]) -> None:
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
