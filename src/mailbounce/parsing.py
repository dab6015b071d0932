"""``parse-bounces`` as a library: sources → analysis → correlation → store → records.

``BounceParse`` streams: iterate it for ``BounceRecord`` objects in input order, or take
``rendered`` jsonl/csv text; its ``summary`` is complete once iteration ends. Iterated, the
analysis runs in a process pool with ``jobs > 1`` (bounded look-ahead, so memory stays
flat on any mailbox size) and every store write happens in this process, one transaction
per ``batch_size`` messages. Rendered, files and mboxes are handled whole by the workers
(``mailbounce.region_jobs``: commits in input order, same results). Records of a batch are
handed out only after its commit, and IMAP messages are flagged or moved only after it
too: what is printed, stored and acknowledged always agree.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO

from mailbounce.analysis_pool import (
    CHUNK,
    REGION_BYTES,
    TASKS_PER_WORKER,
    Outcome,
    Unit,
    analyse_stream,
    make_tasks,
)
from mailbounce.errors import MailbounceError, UsageError
from mailbounce.models import BounceRecord
from mailbounce.parse_settings import ParseSettings, settings_from_config
from mailbounce.recording import ParseSummary, Recorder, make_record
from mailbounce.region_jobs import (
    RegionJob,
    RegionResult,
    Turns,
    merge_summary,
    render_records,
    run_task,
    start_pool,
)
from mailbounce.render import OutputFormat, csv_header_text
from mailbounce.sources import (
    DEFAULT_MAX_MESSAGE_BYTES,
    ImapResume,
    ImapSource,
    PathSource,
    StdinSource,
    open_source,
)
from mailbounce.store import Store
from mailbounce.store import bounces as bounce_store

# Bytes of an mbox per worker task when workers also store (``rendered``): each task is a
# transaction that starts on a cache the other worker's commits made stale, so fewer,
# larger ones cost the workers about a tenth less CPU than REGION_BYTES (measured on the
# DEV corpus, benchmarks/parse_throughput.py); an mbox under this size is one task.
WORKER_REGION_BYTES = 1024 * 1024

__all__ = [
    "BounceParse",
    "ParseSettings",
    "ParseSummary",
    "make_record",
    "parse_bounces",
    "settings_from_config",
]

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
        self._recorder = Recorder(self.settings, self.summary)
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
        self._task_index = 0  # tasks given to the workers so far: their turn to commit

    def _open_store(self) -> Store | None:
        if self._db is None:
            return None
        if not self.settings.store and not self._db.exists():
            return None  # --no-store never creates a database; correlation needs one
        return Store(self._db)

    @contextmanager
    def _running(self) -> Iterator[tuple[tuple[ProcessPoolExecutor, Turns] | None, Store | None]]:
        # The pool first: its workers must not inherit an open database connection.
        started = start_pool(self.settings.jobs)
        store = self._open_store()
        try:
            yield started, store
        finally:
            if started is not None:
                started[0].shutdown(cancel_futures=True)
            for source in self._sources:
                if isinstance(source, ImapSource):
                    source.close()
            if store is not None:
                store.close()

    def __iter__(self) -> Iterator[BounceRecord]:
        with self._running() as (started, store):
            pool = started[0] if started is not None else None
            for source in self._sources:
                yield from self._run_source(source, store, pool)

    def rendered(self, fmt: OutputFormat, columns: Sequence[str]) -> Iterator[str]:
        """The records as jsonl or csv text (with its header), in input order: what
        rendering ``list(self)`` writes. With ``jobs > 1`` the workers do the whole job of
        files, folders and mboxes (``mailbounce.region_jobs``); IMAP and stdin go the
        usual way (messages acknowledged only after the main process's commit)."""
        if fmt not in (OutputFormat.JSONL, OutputFormat.CSV):
            raise UsageError(f"records are rendered as text in jsonl or csv, not {fmt}")
        if fmt is OutputFormat.CSV:
            yield csv_header_text(columns)
        with self._running() as (started, store):
            self._task_index = 0  # the new pool's turns start from the first task
            for source in self._sources:
                if started is not None and isinstance(source, PathSource):
                    job = RegionJob(
                        self.settings, store.path if store else None, fmt, tuple(columns)
                    )
                    yield from self._run_in_workers(source, job, *started)
                    continue
                pool = started[0] if started is not None else None
                records: list[BounceRecord] = []
                for record in self._run_source(source, store, pool):
                    records.append(record)
                    if len(records) >= self.settings.batch_size:
                        yield render_records(records, fmt, columns)
                        records = []
                yield render_records(records, fmt, columns)

    def _run_in_workers(
        self, source: PathSource, job: RegionJob, pool: ProcessPoolExecutor, turns: Turns
    ) -> Iterator[str]:
        window = max(2, self.settings.jobs * TASKS_PER_WORKER)
        pending: deque[Future[RegionResult]] = deque()
        try:
            for task in make_tasks(source.units(WORKER_REGION_BYTES), CHUNK):
                pending.append(pool.submit(run_task, task, self._task_index, job))
                self._task_index += 1
                if len(pending) >= window:
                    yield self._merged(pending.popleft().result())
            while pending:
                yield self._merged(pending.popleft().result())
        except BrokenProcessPool:
            # Every region before this one is committed; the rest is read again next run.
            raise MailbounceError(
                "an analysis worker process died (out of memory?); run again with --jobs 1"
            ) from None

    def _merged(self, result: RegionResult) -> str:
        merge_summary(self.summary, result.summary)
        return result.text

    def _run_source(
        self,
        source: PathSource | StdinSource | ImapSource,
        store: Store | None,
        pool: ProcessPoolExecutor | None,
    ) -> Iterator[BounceRecord]:
        imap = source if isinstance(source, ImapSource) else None
        if imap is not None:
            self._prepare_imap(imap, store)
        batch: list[Outcome] = []
        units: Iterable[Unit] = source
        if pool is not None and isinstance(source, PathSource):
            units = source.units(REGION_BYTES)  # workers read their part of an mbox
        for outcome in analyse_stream(units, self.settings.limits, pool, self.settings.jobs):
            batch.append(outcome)
            if len(batch) >= self.settings.batch_size:
                yield from self._recorder.commit(batch, store, imap)
                batch = []
        if batch:
            yield from self._recorder.commit(batch, store, imap)

    def _prepare_imap(self, imap: ImapSource, store: Store | None) -> None:
        writing = store is not None and self.settings.store
        if writing and store is not None:
            point = bounce_store.imap_resume_point(store, imap.key)
            imap.resume = ImapResume(*point) if point else None
        imap.connect()


def parse_bounces(
    specs: Sequence[str],
    *,
    db: Path | None,
    settings: ParseSettings | None = None,
    stdin: BinaryIO | None = None,
) -> BounceParse:
    """The library entry point of ``mailbounce parse-bounces``: iterate the result."""
    return BounceParse(specs, db=db, settings=settings, stdin=stdin)
