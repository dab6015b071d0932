"""One connection for all the threads of a send run, with group commit.

SQLite has one writer at a time. Eight sending threads each with its own connection
spend most of their time in SQLite's busy handler, which sleeps 1, 2, 5, 10... ms between
tries. Here the threads share one connection, and commits are grouped: a thread queues
its write, then takes the commit lock; if its write is still queued, it becomes the leader
and commits every queued write (each in its own SAVEPOINT, so a failing one is rolled
back alone) in one transaction. A thread alone pays one commit and no hand-off; eight
threads share commits. ``run(fn)`` returns once ``fn``'s writes are committed, so
"committed before the next network step" (DESIGN §6) holds for every caller.

A PostgreSQL backend would not need this: its row locks let each thread commit alone.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Generic, TypeVar

from mailbounce.store.db import Store

T = TypeVar("T")


class _Job(Generic[T]):
    __slots__ = ("done", "error", "fn", "result")

    def __init__(self, fn: Callable[[Store], T]) -> None:
        self.fn = fn
        self.done = False
        self.result: T | None = None
        self.error: BaseException | None = None


class _SavepointStore(Store):
    """The shared connection seen as a Store whose transactions are savepoints."""

    def __init__(self, store: Store) -> None:
        # Deliberately not Store.__init__: this wraps the writer's open connection.
        self.conn = store.conn
        self.path = store.path

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        self.conn.execute("SAVEPOINT job")
        try:
            yield self.conn
        except BaseException:
            self.conn.execute("ROLLBACK TO job")
            self.conn.execute("RELEASE job")
            raise
        self.conn.execute("RELEASE job")


class SerialWriter:
    """``run(fn)`` calls ``fn(store)`` on the shared connection and returns once committed."""

    def __init__(self, db_path: Path) -> None:
        self._store = Store(db_path, shared_by_threads=True)
        self._batch_store = _SavepointStore(self._store)
        self._commit_lock = threading.Lock()
        self._queue_lock = threading.Lock()
        self._queue: list[_Job[Any]] = []

    def run(self, fn: Callable[[Store], T]) -> T:
        job: _Job[T] = _Job(fn)
        with self._queue_lock:
            self._queue.append(job)
        with self._commit_lock:
            if not job.done:  # nobody committed it yet: lead, committing all queued jobs
                with self._queue_lock:
                    batch, self._queue = self._queue, []
                self._commit(batch)
        if job.error is not None:
            raise job.error
        return job.result  # type: ignore[return-value]  # set when error is None

    def _commit(self, batch: list[_Job[Any]]) -> None:
        conn = self._store.conn
        if len(batch) == 1:  # alone: its own transaction, no savepoint (two statements fewer)
            self._commit_one(batch[0])
            return
        try:
            conn.execute("BEGIN IMMEDIATE")
            for job in batch:
                try:
                    job.result = job.fn(self._batch_store)
                except Exception as exc:  # its savepoint rolled back; the others go on
                    job.error = exc
            conn.execute("COMMIT")
        except BaseException as exc:  # the transaction failed: none of the batch holds
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            for job in batch:
                job.error = exc
        for job in batch:
            job.done = True

    def _commit_one(self, job: _Job[Any]) -> None:
        conn = self._store.conn
        try:
            job.result = job.fn(self._store)  # commits through Store.transaction()
        except BaseException as exc:  # rolled back: nothing of it holds
            if conn.in_transaction:  # a failed COMMIT leaves the transaction open
                conn.execute("ROLLBACK")
            job.error = exc
        job.done = True

    def close(self) -> None:
        with self._commit_lock:
            self._store.close()

    def __enter__(self) -> SerialWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
