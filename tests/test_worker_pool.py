"""The forked worker pool of ``parse-bounces --jobs``: answers in order, errors carried,
tasks taken back, and a worker's death seen at once, even in the middle of an answer (the
case that hung ``ProcessPoolExecutor`` for ever: its result pipe had other writers)."""

from __future__ import annotations

import os
import signal
import struct
import time
from multiprocessing.connection import Connection
from typing import Any

import pytest

from mailbounce import worker_pool
from mailbounce.worker_pool import WorkerDied, WorkerPool


def _square(number: int) -> int:
    return number * number


def _fail(number: int) -> int:
    raise ValueError(f"no {number}")


def _pid(_: int) -> int:
    return os.getpid()


def _slow(seconds: float) -> float:
    time.sleep(seconds)
    return seconds


def test_results_come_back_in_order_from_every_worker() -> None:
    pool = WorkerPool(2)
    try:
        jobs = [pool.submit(_square, n) for n in range(50)]
        assert [job.result() for job in jobs] == [n * n for n in range(50)]
    finally:
        pool.close()


def test_a_task_error_is_raised_by_its_result_only() -> None:
    pool = WorkerPool(1)
    try:
        job = pool.submit(_fail, 3)
        with pytest.raises(ValueError, match="no 3"):
            job.result()
        with pytest.raises(ValueError, match="no 4"):  # the worker lives on
            pool.submit(_fail, 4).result()
    finally:
        pool.close()


def test_a_task_no_worker_has_yet_is_taken_back() -> None:
    pool = WorkerPool(1)
    try:
        jobs = [pool.submit(_slow, 0.2) for _ in range(5)]  # three sent, two queued
        assert not jobs[0].cancel()
        assert jobs[4].cancel()
        assert [jobs[n].result() for n in range(4)] == [0.2] * 4
    finally:
        pool.close()


def test_a_killed_worker_fails_its_tasks_at_once() -> None:
    pool = WorkerPool(1)
    try:
        first = pool.submit(_slow, 30.0)
        (worker,) = pool._workers
        os.kill(worker.process.pid, signal.SIGKILL)
        started = time.monotonic()
        with pytest.raises(WorkerDied):
            first.result()
        assert time.monotonic() - started < 10
        with pytest.raises(WorkerDied):
            pool.submit(_slow, 0.0).result()
    finally:
        pool.close()


def _half_an_answer(conn: Connection, outcome: tuple[bool, Any]) -> None:
    """A worker killed while writing its answer: a header announcing 1,000 bytes, 10 sent."""
    os.write(conn.fileno(), struct.pack("!i", 1000) + b"x" * 10)
    os.kill(os.getpid(), signal.SIGKILL)


def test_a_worker_killed_in_the_middle_of_an_answer_is_seen_dead(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(worker_pool, "answer", _half_an_answer)  # inherited by the fork
    pool = WorkerPool(1)
    try:
        started = time.monotonic()
        with pytest.raises(WorkerDied):
            pool.submit(_square, 2).result()
        assert time.monotonic() - started < 10
    finally:
        pool.close()  # and closing does not hang either


def test_close_ends_idle_and_busy_workers() -> None:
    pool = WorkerPool(2)
    processes = [w.process for w in pool._workers]
    pool.submit(_slow, 30.0)
    started = time.monotonic()
    pool.close()
    assert time.monotonic() - started < 10
    assert all(p.exitcode is not None for p in processes)


def test_workers_are_forked_processes_of_their_own() -> None:
    pool = WorkerPool(2)
    try:
        pids = {pool.submit(_pid, 0).result() for _ in range(20)}
        assert os.getpid() not in pids
    finally:
        pool.close()
