"""The send loop's commits: one job (one transaction) at a time, in the loop's own thread.

``submit`` runs a job (a function of the Store: one transaction) at once; the loop then
acts on the commit (``collect`` raises the job's error: the transaction rolled back).
Between jobs the loop may use ``store`` itself (claims): no second connection fights for
SQLite's write lock.

Why not a thread of its own, which would let SQLite's share of a commit (run with the GIL
released) overlap the loop's work: on a 2-core host that overlap is rare and costs more
than it saves (issue 2, session 6, ``send --concurrency 8``, interleaved runs). The commit
thread could not run its Python (between SQLite calls, about ten times a commit) until the
loop's thread let go of the GIL, which it held while composing the next messages (0.3-0.7
ms a commit spent waiting between ``submit`` and the job's start); each commit cost two
thread wake-ups more; and with the loop free to go on, commits were smaller (4-5 messages,
not 7.5). Inline, a 20,000-message send used 0.285 ms of CPU per message instead of 0.400
and sent 980 msg/s instead of 811 on a loaded host (medians of 5 interleaved runs); on a
quiet host, 3,557 msg/s instead of 2,853 and 0.27 ms instead of 0.35 (medians of 3). What is
committed, and when, is the same: each transaction commits before the data it allows goes
out.

WAL checkpoints (copying committed pages from the WAL into the database file, with two
fsyncs) run in a thread on a connection of their own (``Checkpointer``), not inside a
send's COMMIT: SQLite's automatic checkpoint took about a quarter of the commits' time,
while the send loop waited for the commit (issue 2). Durability is unchanged (WAL,
synchronous=NORMAL: a checkpoint only moves what is already committed).

Several send processes on one database (``send_workers``) take turns for their commits on
an ``flock`` of ``<db>.commits`` (``CommitTurns``): a process waiting for its turn is woken by
the kernel the moment the other's COMMIT is done, where SQLite's own busy handler sleeps 1,
2, 5 ms... between tries (measured on a 2-process send: 6-19% of the commits slept at least
1 ms, and the processes used one core between them). The lock only orders this
connection's transactions; every other writer still queues on SQLite's busy_timeout as before.

A PostgreSQL backend would not need this: its row locks let each connection commit alone.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import sqlite3
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

from mailbounce.store.db import Store

Job = Callable[[Store], None]

# A checkpoint is asked for every ``CHECKPOINT_EVERY`` commits: a send's commit writes
# about 8 (one connection) to 15 pages (eight), so one checkpoint per 1,000-2,000 WAL
# pages, about SQLite's default of 1,000 (each checkpoint copies the hot pages again).
CHECKPOINT_EVERY = 128
# If the checkpoints fall behind (a long reader holds them back), the committing connection
# checkpoints itself past this many WAL pages (SQLite's automatic checkpoint; other
# connections: ``db.WAL_AUTOCHECKPOINT_PAGES``): the WAL stays bounded.
FALLBACK_AUTOCHECKPOINT = 20_000


class Checkpointer:
    """PASSIVE checkpoints in a thread of their own, on a connection of their own.

    A PASSIVE checkpoint takes no write lock: commits go on while it copies pages, and the
    loop never waits for its fsyncs. ``request`` never blocks; requests made while one
    runs are merged into the next.
    """

    def __init__(self, db_path: Path) -> None:
        self.store = Store(db_path, shared_by_threads=True)
        self.done = 0  # checkpoints run (for tests)
        self._wanted = threading.Event()
        self._stopping = False
        self._thread = threading.Thread(target=self._run, name="send-checkpoints", daemon=True)
        self._thread.start()

    def request(self) -> None:
        self._wanted.set()

    def _run(self) -> None:
        while True:
            self._wanted.wait()
            self._wanted.clear()
            if self._stopping:
                return
            # Busy: another connection's checkpoint holds the lock, and does the work.
            with contextlib.suppress(sqlite3.OperationalError):
                self.store.conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
            self.done += 1

    def close(self) -> None:
        self._stopping = True
        self._wanted.set()
        self._thread.join()
        self.store.close()


class CommitTurns:
    """An exclusive ``flock`` held around each job of a ``Committer`` (see the module
    docstring). Released by the kernel if the process dies: never stale."""

    def __init__(self, db_path: Path) -> None:
        self._fd = os.open(f"{db_path}.commits", os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)

    @contextlib.contextmanager
    def turn(self) -> Iterator[None]:
        fcntl.flock(self._fd, fcntl.LOCK_EX)  # blocks with the GIL released
        try:
            yield
        finally:
            fcntl.flock(self._fd, fcntl.LOCK_UN)

    def close(self) -> None:
        os.close(self._fd)


class Committer:
    """Runs one ``Job`` at a time on its own connection, at ``submit`` (see the module
    docstring)."""

    def __init__(self, db_path: Path) -> None:
        self.turns = CommitTurns(db_path)
        self.store = Store(db_path)  # used by the loop's thread alone
        self.store.conn.execute(f"PRAGMA wal_autocheckpoint={FALLBACK_AUTOCHECKPOINT}")
        self.checkpoints = Checkpointer(db_path)
        self._commits = 0
        self.busy = False  # a job was submitted and not collected yet
        self._error: BaseException | None = None

    def submit(self, job: Job) -> None:
        if self.busy:
            raise RuntimeError("Committer.submit: the previous job was not collected")
        self.busy = True
        self._execute(job)

    def collect(self) -> None:
        """The submitted job is committed; raise its error if it failed."""
        if not self.busy:
            return
        self.busy = False
        error, self._error = self._error, None
        if error is not None:
            raise error

    def settle(self) -> None:
        """Forget the submitted job, dropping its error (the caller is already failing, or
        the run is over: the caller's own error, if any, is the one reported)."""
        if self.busy:
            self.busy = False
            self._error = None

    def _execute(self, job: Job) -> None:
        try:
            with self.turns.turn():
                job(self.store)
        except BaseException as exc:  # raised by collect(), in the loop
            # (a second Ctrl-C during the job too: rolled back, as after a crash)
            self._error = exc
            if self.store.conn.in_transaction:
                self.store.conn.execute("ROLLBACK")
        self._commits += 1
        if self._commits % CHECKPOINT_EVERY == 0:
            self.checkpoints.request()

    def close(self) -> None:
        """Forget the job in progress (its error, if any, is dropped), then close."""
        self.settle()
        self.checkpoints.close()
        self.store.close()
        self.turns.close()

    def __enter__(self) -> Committer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
