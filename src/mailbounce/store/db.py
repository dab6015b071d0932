"""The SQLite connection: WAL, busy_timeout, foreign keys, migrations on open (DESIGN §7)."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from mailbounce.errors import StoreError
from mailbounce.store.migrations import migrate

BUSY_TIMEOUT_MS = 30_000
# A commit checkpoints the WAL (copies its pages into the database file, two fsyncs) once
# it holds this many pages, instead of SQLite's 1,000 (4 MB): a send's list import of
# 20,000 rows (~3,500 pages) commits without copying 14 MB and waiting for the fsyncs,
# and the send's checkpoint thread (store/writer.py) copies them while it sends. The last
# connection to close checkpoints the rest. Durability is unchanged.
WAL_AUTOCHECKPOINT_PAGES = 10_000


def utcnow() -> str:
    """The current time as the ISO 8601 UTC text stored in every ``*_at`` column."""
    return datetime.now(UTC).isoformat(timespec="seconds")


class Store:
    """An open mailbounce database. Every SQL statement lives in ``mailbounce.store``."""

    def __init__(self, path: str | Path, *, shared_by_threads: bool = False) -> None:
        """``shared_by_threads``: the connection is opened in one thread and used in another
        (``store.writer.Checkpointer``, whose thread alone uses it); otherwise only the opening
        thread may use it."""
        self.path = Path(path)
        try:
            # isolation_level=None: we issue BEGIN/COMMIT ourselves, one per state change.
            self.conn = sqlite3.connect(
                self.path,
                isolation_level=None,
                timeout=BUSY_TIMEOUT_MS / 1000,
                check_same_thread=not shared_by_threads,
            )
            self.conn.row_factory = sqlite3.Row
            self.conn.execute("PRAGMA journal_mode=WAL")
            self.conn.execute("PRAGMA synchronous=NORMAL")
            self.conn.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
            self.conn.execute(f"PRAGMA wal_autocheckpoint={WAL_AUTOCHECKPOINT_PAGES}")
            self.conn.execute("PRAGMA foreign_keys=ON")
            migrate(self.conn)
        except sqlite3.DatabaseError as exc:
            raise StoreError(f"{self.path}: cannot open the database: {exc}") from exc

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """One committed unit of work (BEGIN IMMEDIATE: writers queue on busy_timeout)."""
        self.conn.execute("BEGIN IMMEDIATE")
        try:
            yield self.conn
        except BaseException:
            self.conn.execute("ROLLBACK")
            raise
        self.conn.execute("COMMIT")

    def close(self) -> None:
        self.conn.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
