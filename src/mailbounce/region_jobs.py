"""``parse-bounces --jobs N`` on mbox files and folders: each worker does a region's whole job.

A worker reads its region of the mbox, analyses it, then waits for its turn (the regions
before it committed), correlates and writes the store with its own SQLite connection
(``Recorder``: one ``BEGIN IMMEDIATE`` transaction per ``batch_size`` messages, the soft
history and suppressions read under that write lock), hands the turn on, and renders its
records as jsonl or csv text. The main process only writes the texts in input order and
adds up the summaries: with the analysis cheap, its per-message share (unpacking,
correlating, storing, rendering) had made it the bottleneck of two cores (issue 3).

Turns keep every answer identical to ``--jobs 1``: the commits happen in input order, so
each bounce sees the same soft-failure history, suppressions and duplicates; the messages
of an mbox are numbered from the count the regions before it handed on.
"""

from __future__ import annotations

import multiprocessing
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path

from mailbounce.analysis_pool import Outcome, Task, analyse_raw
from mailbounce.errors import MailbounceError
from mailbounce.mbox import Region, read_region
from mailbounce.models import BounceRecord
from mailbounce.parse_settings import ParseSettings
from mailbounce.recording import ParseSummary, Recorder
from mailbounce.render import OutputFormat, csv_rows_text, jsonl_text
from mailbounce.store import Store


class Turns:
    """State the workers share: whose turn it is to commit, messages numbered so far in
    the current mbox, and whether a turn failed (the later ones then give up)."""

    def __init__(self) -> None:
        context = multiprocessing.get_context()
        self.changed = context.Condition()
        self.turn = context.RawValue("q", 0)
        self.numbered = context.RawValue("q", 0)
        self.failed = context.RawValue("b", 0)


@dataclass(frozen=True)
class RegionJob:
    """What every task of a run needs besides its region (picklable)."""

    settings: ParseSettings
    db: Path | None  # None: no store to read or write
    fmt: OutputFormat
    columns: tuple[str, ...]


@dataclass
class RegionResult:
    """A task's records as text, and what it counted."""

    text: str
    summary: ParseSummary


# A worker's own state: the shared turns (installed when it starts), its connections.
_shared: dict[str, Turns] = {}
_stores: dict[Path, Store] = {}


def _install(turns: Turns) -> None:
    _shared["turns"] = turns


def start_pool(jobs: int) -> tuple[ProcessPoolExecutor, Turns] | None:
    """Workers already running (forked before any database is opened), sharing turns."""
    if jobs <= 1:
        return None
    turns = Turns()
    pool = ProcessPoolExecutor(jobs, initializer=_install, initargs=(turns,))
    pool.submit(int).result()
    return pool, turns


def _store(db: Path | None) -> Store | None:
    """The worker's own connection, opened once (the main process migrated the file)."""
    if db is None:
        return None
    if db not in _stores:
        _stores[db] = Store(db)
    return _stores[db]


def render_records(
    records: Sequence[BounceRecord], fmt: OutputFormat, columns: Sequence[str]
) -> str:
    """Records as jsonl lines or csv rows (no header)."""
    rows = [record.to_dict() for record in records]
    if fmt is OutputFormat.CSV:
        return csv_rows_text(rows, columns)
    return jsonl_text(rows)


def run_task(task: Task, index: int, job: RegionJob) -> RegionResult:
    """In a worker: the whole job of one task (``index``: its place in the run)."""
    messages = read_region(task) if isinstance(task, Region) else task
    outcomes = [analyse_raw(message, job.settings.limits) for message in messages]
    turns = _shared.get("turns")
    if turns is None:
        raise MailbounceError("a --jobs worker started without its shared state")
    with turns.changed:
        turns.changed.wait_for(lambda: turns.turn.value == index or bool(turns.failed.value))
    if turns.failed.value:
        raise MailbounceError("an earlier part of the mailbox failed")
    try:
        summary = ParseSummary()
        records = _record(turns, task, outcomes, job, summary)
    except BaseException:
        with turns.changed:
            turns.failed.value = 1
            turns.changed.notify_all()
        raise
    with turns.changed:
        turns.turn.value = index + 1
        turns.changed.notify_all()
    return RegionResult(render_records(records, job.fmt, job.columns), summary)


def _record(
    turns: Turns, task: Task, outcomes: list[Outcome], job: RegionJob, summary: ParseSummary
) -> list[BounceRecord]:
    """During the task's turn: number, correlate, store (batch by batch) and record."""
    if isinstance(task, Region):
        # A worker numbers a region's messages from 1; the regions before counted on.
        before = 0 if task.start == 0 else int(turns.numbered.value)
        outcomes = [
            replace(outcome, source=f"{task.label}#{number}")
            for number, outcome in enumerate(outcomes, before + 1)
        ]
        turns.numbered.value = before + len(outcomes)
    recorder = Recorder(job.settings, summary)
    store = _store(job.db)
    size = job.settings.batch_size
    records: list[BounceRecord] = []
    for start in range(0, len(outcomes), size):
        records.extend(recorder.commit(outcomes[start : start + size], store, None))
    return records


def merge_summary(total: ParseSummary, part: ParseSummary) -> None:
    """Add a task's counts to the run's (lists in input order)."""
    total.messages += part.messages
    total.records += part.records
    total.by_kind.update(part.by_kind)
    total.by_reason.update(part.by_reason)
    total.not_bounces += part.not_bounces
    total.stored += part.stored
    total.already_stored += part.already_stored
    total.deliveries_updated += part.deliveries_updated
    total.suppressed.extend(part.suppressed)
    total.quarantined.extend(part.quarantined)
    total.unrecognised.extend(part.unrecognised)
    total.forged.extend(part.forged)


__all__ = ["RegionJob", "RegionResult", "Turns", "merge_summary", "run_task", "start_pool"]
