"""Forked worker processes, each with a pipe of its own: the pool of ``parse-bounces --jobs``.

Why not ``concurrent.futures.ProcessPoolExecutor``: its workers all write their results into
one pipe that the parent process also holds open for writing. A worker killed in the middle
of writing a result (the out-of-memory killer, a SIGKILL) leaves half a message there, and
the executor's thread, reading it, waits for the rest for ever: it never sees the death,
the run hangs, and so does its exit, which joins that thread (CPython 3.11;
tests/test_parse_bounces.py's dead-worker test hung so under load, 1 run in 8). Here a
worker's pipe has no other writer: its death is an end of file or its process sentinel,
seen at once, and the run stops with one error line.

A task is sent to a worker only when it has fewer than ``_SENT_PER_WORKER`` in hand, so the
others wait here and can still be taken back (``Job.cancel``). A worker answers its tasks
in the order it got them.
"""

from __future__ import annotations

import signal
from collections import deque
from collections.abc import Callable
from multiprocessing import get_context
from multiprocessing.connection import Connection, wait
from typing import Any

# Tasks a worker holds at once: one it works on, two ready for when it is done (as many as
# ProcessPoolExecutor queued for one worker): it keeps busy while this process stores a batch.
_SENT_PER_WORKER = 3
# Seconds a worker has to end once told to (then it is killed).
_END_SECONDS = 5.0


class WorkerDied(Exception):
    """A worker process died (killed, out of memory) before answering."""


class Job:
    """One task handed to the pool: its result once a worker answered it."""

    __slots__ = ("_pool", "answered", "cancelled", "outcome", "task")

    def __init__(self, pool: WorkerPool, task: tuple[Callable[..., Any], tuple[Any, ...]]) -> None:
        self._pool = pool
        self.task = task
        self.cancelled = False
        self.answered = False
        self.outcome: tuple[bool, Any] = (False, None)

    def done(self) -> bool:
        """Answered (or its worker died: ``result`` then raises) without waiting."""
        self._pool.pump()
        return self.answered

    def cancel(self) -> bool:
        """Take the task back if no worker has it yet."""
        return self._pool.take_back(self)

    def result(self) -> Any:
        """Wait for the answer; the task's own exception, or ``WorkerDied``."""
        self._pool.wait_for(self)
        succeeded, value = self.outcome
        if succeeded:
            return value
        raise value


class _Worker:
    __slots__ = ("conn", "process", "sent")

    def __init__(self, conn: Connection, process: Any) -> None:
        self.conn = conn
        self.process = process
        self.sent: deque[Job] = deque()


class WorkerPool:
    """``count`` processes forked now, each running the tasks it is sent, ``fn(*args)``.

    Forked: they share what this process imported (copy on write); a task's function
    crosses the pipe by name, with its arguments, and its result comes back."""

    def __init__(self, count: int) -> None:
        context = get_context("fork")
        self._queued: deque[Job] = deque()
        self._workers: list[_Worker] = []
        self._dead: str | None = None
        for _ in range(count):
            mine, theirs = context.Pipe()
            process = context.Process(target=_serve, args=(theirs,), daemon=True)
            process.start()
            theirs.close()  # the worker's end is the worker's alone: its death is our EOF
            self._workers.append(_Worker(mine, process))

    def submit(self, fn: Callable[..., Any], /, *args: Any) -> Job:
        job = Job(self, (fn, args))
        self._queued.append(job)
        self.pump()
        return job

    def take_back(self, job: Job) -> bool:
        if job.cancelled:
            return True
        if job in self._queued:
            self._queued.remove(job)
            job.cancelled = True
            return True
        return False

    def pump(self) -> None:
        """Read every answer that arrived, then hand queued tasks to the workers with room."""
        ready = wait([w.conn for w in self._workers if w.sent], 0)
        for worker in self._workers:
            if worker.conn in ready:
                self._receive(worker)
        for worker in self._workers:
            while self._queued and len(worker.sent) < _SENT_PER_WORKER:
                job = self._queued.popleft()
                self._send(worker, job)

    def wait_for(self, job: Job) -> None:
        """Until ``job`` is answered; ``WorkerDied`` once a worker died."""
        if job.cancelled:
            raise RuntimeError("WorkerPool: the result of a task taken back")
        while True:
            if self._dead is not None:
                raise WorkerDied(self._dead)
            self.pump()
            if job.answered:
                return
            busy = [w for w in self._workers if w.sent]
            if not busy:
                raise RuntimeError("WorkerPool: waiting for a task no worker has")
            wait([w.conn for w in busy] + [w.process.sentinel for w in busy])

    def close(self) -> None:
        """End the workers: told to end, killed if busy or slow (nothing is written by them)."""
        self._queued.clear()
        for worker in self._workers:
            if worker.sent or self._dead is not None:
                worker.process.kill()
            else:
                try:
                    worker.conn.send(None)
                except OSError:
                    worker.process.kill()
        for worker in self._workers:
            worker.process.join(_END_SECONDS)
            if worker.process.exitcode is None:
                worker.process.kill()
                worker.process.join()
            worker.conn.close()
        self._workers = []

    def _send(self, worker: _Worker, job: Job) -> None:
        worker.sent.append(job)
        try:
            worker.conn.send(job.task)
        except OSError:  # its end is closed: it died
            self._died(worker)

    def _receive(self, worker: _Worker) -> None:
        while worker.sent and worker.conn.poll():
            try:
                outcome = worker.conn.recv()
            except (EOFError, OSError):  # died, maybe in the middle of an answer
                self._died(worker)
                return
            job = worker.sent.popleft()
            job.outcome, job.answered = outcome, True
        if worker.sent and worker.process.exitcode is not None:
            self._died(worker)

    def _died(self, worker: _Worker) -> None:
        worker.process.join(0)
        self._dead = f"worker process {worker.process.pid} ended ({worker.process.exitcode})"
        for job in worker.sent:
            job.outcome, job.answered = (False, WorkerDied(self._dead)), True
        worker.sent.clear()


def _serve(conn: Connection) -> None:
    """A worker's life: answer each task, in order, until told to end (None) or orphaned.

    Ctrl-C is the parent's to act on (it ends the workers): ignored here."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    while True:
        try:
            task = conn.recv()
        except EOFError:  # the parent is gone
            return
        if task is None:
            return
        fn, args = task
        try:
            outcome: tuple[bool, Any] = (True, fn(*args))
        except Exception as exc:
            outcome = (False, exc)
        answer(conn, outcome)


def answer(conn: Connection, outcome: tuple[bool, Any]) -> None:
    """Send a task's outcome (an exception that cannot be pickled goes as its text)."""
    try:
        conn.send(outcome)
    except (TypeError, AttributeError, ValueError) as exc:  # pickling failed
        conn.send((False, RuntimeError(f"{outcome[1]!r} ({exc})")))
