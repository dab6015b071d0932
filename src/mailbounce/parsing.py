"""``parse-bounces`` as a library: sources → analysis → correlation → store → records.

``BounceParse`` streams: iterate it for ``BounceRecord`` objects in input order; its
``summary`` is complete once iteration ends. With ``jobs > 1`` analysis runs in ``jobs - 1``
worker processes and this one (bounded look-ahead, so memory stays flat on any mailbox
size); every store write happens in this process (``mailbounce.recording``), one
transaction per ``batch_size`` messages. Records of a batch are handed out only after its
commit, and IMAP messages are flagged or moved only after it too: what is printed, stored
and acknowledged always agree.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

from mailbounce.analysis_pool import REGION_BYTES, Outcome, Unit, analyse_stream, start_pool
from mailbounce.errors import UsageError
from mailbounce.models import BounceRecord
from mailbounce.parse_settings import ParseSettings, settings_from_config
from mailbounce.recording import ParseSummary, Recorder, make_record, record_json
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

if TYPE_CHECKING:
    from mailbounce.worker_pool import WorkerPool

__all__ = [
    "BounceParse",
    "ParseSettings",
    "ParseSummary",
    "make_record",
    "parse_bounces",
    "record_json",
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

    def _open_store(self) -> Store | None:
        if self._db is None:
            return None
        if not self.settings.store and not self._db.exists():
            return None  # --no-store never creates a database; correlation needs one
        return Store(self._db)

    def __iter__(self) -> Iterator[BounceRecord]:
        # The pool first: its workers must not inherit an open database connection.
        pool = start_pool(self.settings.jobs)
        store = self._open_store()
        try:
            for source in self._sources:
                yield from self._run_source(source, store, pool)
        finally:
            if pool is not None:
                pool.close()
            for source in self._sources:
                if isinstance(source, ImapSource):
                    source.close()
            if store is not None:
                store.close()

    def _run_source(
        self,
        source: PathSource | StdinSource | ImapSource,
        store: Store | None,
        pool: WorkerPool | None,
    ) -> Iterator[BounceRecord]:
        imap = source if isinstance(source, ImapSource) else None
        if imap is not None:
            self._prepare_imap(imap, store)
        batch: list[Outcome] = []
        units: Iterable[Unit] = source
        if pool is not None and isinstance(source, PathSource):
            units = source.units(REGION_BYTES)  # workers read their part of an mbox
        workers = self.settings.jobs - 1
        for outcome in analyse_stream(units, self.settings.limits, pool, workers):
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
