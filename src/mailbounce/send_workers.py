"""``mailbounce send`` on several processes: the run's connections split over forked workers.

One send loop (``delivery.DeliveryRun``) needs about half a millisecond of CPU per message
(compose, SMTP, claims) and runs in one thread: on its own it uses one core. After
``sending.send_campaign`` has done everything that comes before the loop (lock, lists,
campaign, recovery, suppressions), ``run_split`` forks one worker per share of the
connections; each runs the ordinary send loop with its own database connections and commits,
on the same campaign. Claims are atomic (``store.sending.claim_due``: one
transaction), so two workers never claim the same recipient, and every transition is
committed before the next network step whatever process makes it (DESIGN §6): the state
machine and its crash guarantees are per delivery.

How many processes and how the limits are split: ``send_split``.

The parent forks before opening any SQLite connection (``sending`` closes its own first),
then only relays: progress and ``-v`` lines from a pipe per worker, the ids each worker
decided (for the summary), and its error or its death.

Ctrl-C: the workers ignore SIGINT (a terminal sends it to the whole process group) and the
parent passes each one it gets on as ``INTERRUPT_SIGNAL``, which a worker takes as Ctrl-C:
whether SIGINT came from a terminal or from ``kill -INT`` to the command, each worker sees
each Ctrl-C exactly once, drains as a one-process run does (``DRAIN_SECONDS``) and gives
its claims back; the parent waits for them and the run ends interrupted (exit 130). Ctrl-Z
and a closed terminal reach the workers as they reach the command (same process group).

A worker that fails (the relay refuses us) or dies (killed): the parent stops the others
(``STOP_SIGNAL``: they take no new recipient and finish what is under way), waits, and
reports it (exit 1); what a killed worker left (``claimed``, ``in_flight``) is settled by
the next run's recovery, as after any crash. The run lock (``lock``) is inherited: a second
run still exits 75 while any worker lives. A killed parent: each worker watches a pipe only
the parent holds open and kills itself when it closes, as the parent was (a crash of the
whole run: the next run recovers).
"""

from __future__ import annotations

import contextlib
import os
import pickle
import select
import signal
import threading
import time
import traceback
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from typing import Any

from mailbounce.errors import MailbounceError
from mailbounce.send_pipes import Inbox, WorkerProgress, send_message
from mailbounce.send_split import Share

# A worker's whole job: send its share, report progress and log lines, return the ids of
# the deliveries it decided (``sending._Deliverer``), in this process or in a worker.
Deliver = Callable[[Share, "Reporter"], list[int]]


# Sent by the parent to the other workers when one fails or dies: stop taking recipients,
# finish what is under way (``DeliveryRun.errors``), give the claims back. Not a Ctrl-C: a
# KeyboardInterrupt striking a worker's own clean-up would leave its claims to the next run.
STOP_SIGNAL = signal.SIGUSR1
# Ctrl-C as the parent passes it on (a worker ignores SIGINT itself: see the docstring).
INTERRUPT_SIGNAL = signal.SIGUSR2


class RunStopped(MailbounceError):
    """The parent stopped this worker (another one failed or died)."""


_stop_requested = False
_stop_callbacks: list[Callable[[], None]] = []


def _on_stop_signal(signum: int, frame: object) -> None:
    global _stop_requested  # noqa: PLW0603  one flag per worker process, set by a signal
    _stop_requested = True
    for callback in list(_stop_callbacks):
        callback()


@contextmanager
def stop_requests(run_errors: list[BaseException]) -> Iterator[None]:
    """While the body runs, ``STOP_SIGNAL`` adds ``RunStopped`` to ``run_errors`` (the send
    loop's ``errors``: it then starts nothing new and raises it once the rest is done)."""

    def stop() -> None:
        run_errors.append(RunStopped("stopped by the run"))

    _stop_callbacks.append(stop)
    if _stop_requested:
        stop()
    try:
        yield
    finally:
        _stop_callbacks.remove(stop)


class Reporter:
    """What a share reports as it goes: progress (``advance``) and ``-v`` lines (``log``).

    In one process, the caller's progress bar and log; in a worker, the pipe to the parent.
    """

    def __init__(
        self,
        advance: Callable[[int], None],
        log: Callable[[str], None] | None,
    ) -> None:
        self._advance = advance
        self.log = log

    def advance(self, steps: int = 1) -> None:
        self._advance(steps)


# --- running the shares ---------------------------------------------------------------


@dataclass
class _Worker:
    pid: int
    inbox: Inbox
    decided: list[int] | None = None  # its "done" message came
    error: BaseException | None = None
    interrupted: bool = False
    stopped: bool = False  # by ``STOP_SIGNAL``: another worker failed or died
    status: int | None = None  # os.waitpid's


def run_split(
    shares: Sequence[Share],
    deliver: Deliver,
    reporting: Callable[[], AbstractContextManager[Reporter]],
) -> list[int]:
    """Run each share in a worker process of its own; return the ids all of them decided.

    ``reporting`` opens the caller's progress bar (after the forks: no thread of its own
    exists yet when the workers are forked) and receives the workers' reports.

    Raises the first worker's error, ``KeyboardInterrupt`` after Ctrl-C, or
    ``MailbounceError`` (exit 1) when a worker died; in every case once all have ended.
    """
    alive_read, alive_write = os.pipe()  # the parent alone keeps the write end open
    workers: list[_Worker] = []
    interrupts = _Interrupts(workers)
    try:
        for share in shares:
            workers.append(_fork(share, deliver, alive_read, alive_write, workers))
        with interrupts, reporting() as reporter:
            _gather(workers, reporter)
            _reap(workers)
    except BaseException:  # the parent's own failure: the workers stop too
        _signal(workers, STOP_SIGNAL)
        _reap(workers)
        raise
    finally:
        os.close(alive_read)
        os.close(alive_write)
    return _outcome(workers, interrupted=interrupts.count > 0)


class _Interrupts:
    """While the workers run, Ctrl-C (SIGINT) is passed on to them instead of raising
    ``KeyboardInterrupt`` here, which could strike in the middle of reading a message."""

    def __init__(self, workers: list[_Worker]) -> None:
        self.workers = workers
        self.count = 0
        self._previous: Any = None
        self._installed = False

    def _on_sigint(self, signum: int, frame: object) -> None:
        self.count += 1
        _signal(self.workers, INTERRUPT_SIGNAL)

    def __enter__(self) -> _Interrupts:
        if threading.current_thread() is threading.main_thread():
            self._previous = signal.signal(signal.SIGINT, self._on_sigint)
            self._installed = True
        return self

    def __exit__(self, *exc: object) -> None:
        if self._installed:
            signal.signal(signal.SIGINT, self._previous)


def _fork(
    share: Share,
    deliver: Deliver,
    alive_read: int,
    alive_write: int,
    siblings: list[_Worker],
) -> _Worker:
    receiver, sender = os.pipe()
    pid = os.fork()
    if pid == 0:  # the worker: never returns
        # First: their default actions would kill the worker.
        signal.signal(STOP_SIGNAL, _on_stop_signal)
        signal.signal(INTERRUPT_SIGNAL, signal.default_int_handler)  # KeyboardInterrupt
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        code = 1
        try:
            os.close(alive_write)
            os.close(receiver)
            for sibling in siblings:
                os.close(sibling.inbox.fd)
            code = _work(share, deliver, sender, alive_read)
        finally:
            os._exit(code)
    os.close(sender)
    return _Worker(pid, Inbox(receiver))


def _work(share: Share, deliver: Deliver, pipe: int, alive_read: int) -> int:
    """A worker's life: Ctrl-C from the parent only, the parent watched, its share sent;
    what it did goes to the parent. The exit code."""
    threading.Thread(target=_watch_parent, args=(alive_read,), daemon=True).start()
    try:
        report, code = _last_word(share, deliver, pipe)
    except KeyboardInterrupt:
        # Ctrl-C struck after the share ended, while its last word was being made (an
        # error pickled, a traceback formatted): still a Ctrl-C, exit 130, not a worker
        # that "ended unexpectedly" (exit 1) with its report lost.
        report, code = ("interrupted", None), 130
    # The last word is written whole: no signal may cut it short (it can exceed PIPE_BUF).
    signal.pthread_sigmask(signal.SIG_BLOCK, {INTERRUPT_SIGNAL, STOP_SIGNAL})
    send_message(pipe, report)
    return code


def _last_word(share: Share, deliver: Deliver, pipe: int) -> tuple[tuple[str, Any], int]:
    """The share sent: the report for the parent, and the worker's exit code."""
    progress = WorkerProgress(pipe)
    reporter = Reporter(progress.advance, lambda line: send_message(pipe, ("log", line)))
    try:
        if share.delay:
            time.sleep(share.delay)
        decided = deliver(share, reporter)
        progress.flush()
        return ("done", decided), 0
    except KeyboardInterrupt:
        return ("interrupted", None), 130
    except RunStopped:
        return ("stopped", None), 1
    except MailbounceError as exc:
        return ("error", _portable(exc)), exc.exit_code
    except BaseException:  # a bug: the parent shows its traceback
        return ("bug", traceback.format_exc()), 1


def _watch_parent(alive_read: int) -> None:
    """Kill this worker as soon as the parent is gone (its end of the pipe closes)."""
    while os.read(alive_read, 1):
        continue
    os.kill(os.getpid(), signal.SIGKILL)


def _portable(exc: MailbounceError) -> MailbounceError:
    """``exc`` if it survives pickling, else a plain error with its message and exit code."""
    try:
        copy = pickle.loads(pickle.dumps(exc))
    except Exception:  # an error whose __init__ takes other arguments than its message
        copy = None
    if isinstance(copy, MailbounceError):
        return exc
    plain = MailbounceError(exc.message)
    plain.exit_code = exc.exit_code
    return plain


def _gather(workers: list[_Worker], reporter: Reporter) -> None:
    """Relay the workers' progress until all have ended; stop the others when one fails
    or dies."""
    running = {worker.inbox.fd: worker for worker in workers}
    stopping = False
    while running:
        for fd in select.select(list(running), [], [])[0]:
            worker = running[fd]
            messages = worker.inbox.read()
            if messages is not None:
                for kind, value in messages:
                    _receive(worker, kind, value, reporter)
                continue
            del running[fd]
            if worker.decided is None and not worker.interrupted and not stopping:
                stopping = True  # it failed or died: the others finish what is under way
                _signal(running.values(), STOP_SIGNAL)


def _receive(worker: _Worker, kind: str, value: Any, reporter: Reporter) -> None:
    if kind == "advance":
        reporter.advance(value)
    elif kind == "log":
        if reporter.log is not None:
            reporter.log(value)
    elif kind == "done":
        worker.decided = value
    elif kind == "interrupted":
        worker.interrupted = True
    elif kind == "stopped":
        worker.stopped = True
    elif kind == "error":
        worker.error = value
    else:  # "bug"
        worker.error = RuntimeError(f"send worker {worker.pid} failed:\n{value}")


def _signal(workers: Iterable[_Worker], signum: int) -> None:
    """``INTERRUPT_SIGNAL`` (Ctrl-C: drain) or ``STOP_SIGNAL`` to each running worker."""
    for worker in workers:
        if worker.status is None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(worker.pid, signum)


def _reap(workers: list[_Worker]) -> None:
    for worker in workers:
        if worker.status is None:
            try:
                worker.status = os.waitpid(worker.pid, 0)[1]
            except ChildProcessError:
                worker.status = -1
        worker.inbox.close()


def _outcome(workers: list[_Worker], *, interrupted: bool) -> list[int]:
    errors = [worker.error for worker in workers if worker.error is not None]
    if errors:
        raise errors[0]
    dead = [w for w in workers if w.decided is None and not (w.interrupted or w.stopped)]
    if dead:
        raise MailbounceError(
            "; ".join(f"send worker {w.pid} {_death(w.status)}" for w in dead)
            + ": the other workers were stopped; run the same command again to resume"
            " (recipients it was sending to are settled then: sent again, or uncertain)"
        )
    if interrupted or any(worker.interrupted for worker in workers):
        raise KeyboardInterrupt
    decided: list[int] = []
    for worker in workers:
        decided.extend(worker.decided or [])
    return decided


def _death(status: int | None) -> str:
    if status is not None and status >= 0 and os.WIFSIGNALED(status):
        return f"was killed ({signal.Signals(os.WTERMSIG(status)).name})"
    if status is not None and status >= 0 and os.WIFEXITED(status):
        return f"ended unexpectedly (exit {os.WEXITSTATUS(status)})"
    return "ended unexpectedly"


__all__ = ["Deliver", "Reporter", "run_split", "stop_requests"]
