"""parse-bounces --jobs N when a worker dies: a one-line error, never a hang.

CPython 3.11's ``ProcessPoolExecutor``, seeing a worker die, marks itself broken and fails
the futures it knows of, without the lock ``submit`` holds: a task submitted at that very
moment passes ``submit``'s check, is added once the failing is done, and is never run nor
failed. Waiting for its result hung for ever (tests/test_parse_bounces.py's dead-worker
test, once, under load). The race is made certain here: every task is submitted as if it
had lost it.
"""

from __future__ import annotations

import os
import signal
import threading
from concurrent.futures import Future, ProcessPoolExecutor
from typing import Any

from mailbounce.analysis_pool import analyse_stream
from mailbounce.bounces import DEFAULT_LIMITS
from mailbounce.errors import MailbounceError
from mailbounce.mbox import RawMessage


class LateSubmissions(ProcessPoolExecutor):
    """A pool whose submissions come just after it broke, and are lost as in the race."""

    def submit(self, fn: Any, /, *args: Any, **kwargs: Any) -> Future[Any]:
        broken = self._broken
        if not broken:
            return super().submit(fn, *args, **kwargs)
        # ``submit`` checked ``_broken`` before the manager thread set it: the task is added
        # once that thread has failed the futures it knew of and ended.
        self._executor_manager_thread.join()  # type: ignore[attr-defined]
        self._broken, self._shutdown_thread = False, False
        try:
            return super().submit(fn, *args, **kwargs)
        finally:
            self._broken, self._shutdown_thread = broken, True


def _broken_pool() -> LateSubmissions:
    pool = LateSubmissions(1)
    pool.submit(os.getpid).result()  # the worker runs
    for pid in list(pool._processes):  # type: ignore[attr-defined]
        os.kill(pid, signal.SIGKILL)
    pool._executor_manager_thread.join()  # type: ignore[attr-defined]  (it saw the death)
    assert pool._broken
    return pool


def _message(number: int) -> RawMessage:
    data = f"From: a@example.org\r\nSubject: {number}\r\n\r\nhello\r\n".encode()
    return RawMessage(f"m{number}", data, len(data))


def test_a_task_lost_as_the_pool_breaks_ends_the_run_with_the_error() -> None:
    pool = _broken_pool()
    outcome: list[BaseException | None] = []

    def consume() -> None:
        messages = (_message(n) for n in range(64 * 40))  # more tasks than this one helps with
        try:
            for _ in analyse_stream(messages, DEFAULT_LIMITS, pool, workers=1):
                pass
        except BaseException as exc:
            outcome.append(exc)
        else:
            outcome.append(None)

    # In a thread, so that a regression fails this test instead of hanging the suite.
    runner = threading.Thread(target=consume, daemon=True)
    runner.start()
    runner.join(120)
    try:
        assert outcome, "analyse_stream still waits for a task the broken pool lost"
        assert isinstance(outcome[0], MailbounceError)
        assert "worker process died" in outcome[0].message
    finally:
        pool.shutdown(wait=False, cancel_futures=True)
