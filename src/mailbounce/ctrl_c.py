"""Ctrl-C in the send loop: acted on where the loop waits, not at whatever bytecode it runs.

Python turns SIGINT into ``KeyboardInterrupt`` at the next bytecode of the main thread.
The send loop (``delivery``) is a state machine whose steps are several statements long:
a reply read from its socket and not yet parsed, a commit returned and not yet noted, a
message's phase set and its data not yet written. A ``KeyboardInterrupt`` in the middle
of one left a recipient ``in_flight`` (the next run makes it ``uncertain``: never sent
again, though the server never had it, or had it and said so), or a drain waiting for a
reply already read. A worker preempted on a loaded machine is often mid-step when the
signal comes (tests/test_send_processes.py's Ctrl-C test failed so under load).

So while a send loop runs (``deferred``), a first Ctrl-C only sets a flag; the loop acts
on it where it waits (``select_readable``, ``sleep``: between whole steps), or at once
if it is waiting right then (the signal ends the ``select``) or connecting to the relay
(``interruptible``). From there it drains as
before (``delivery.DeliveryRun._drain``). A second Ctrl-C raises at once, wherever the
loop is: a user pressing it twice is not kept waiting (the recipients then in flight
become ``uncertain``, as after a crash). A Ctrl-C the loop had no turn left to act on (it
came during the clean-up) is raised when ``deferred`` ends: the run ends interrupted.

Only handlers that raise ``KeyboardInterrupt`` (``signal.default_int_handler``) are taken
over: SIGINT at a terminal, and a send worker's ``INTERRUPT_SIGNAL`` (``send_workers``).
An ignored SIGINT or an application's own handler is left alone, and outside the main
thread (which alone receives signals) nothing changes.
"""

from __future__ import annotations

import select
import signal
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType

_active = False  # a ``deferred`` block is running
_waiting = False  # the loop is waiting (``select_readable``): a Ctrl-C may be raised at once
_requested = 0  # Ctrl-Cs received in the current ``deferred`` block
_raised = 0  # of them, those already raised as KeyboardInterrupt


def _on_ctrl_c(signum: int, frame: FrameType | None) -> None:
    global _requested  # noqa: PLW0603  one Ctrl-C state per process, set by a signal
    _requested += 1
    if _waiting or _requested > 1:
        act()


def requested() -> bool:
    """A Ctrl-C came that has not been raised yet."""
    return _requested > _raised


def act() -> None:
    """Raise the Ctrl-C that came meanwhile, if any (the loop is between whole steps)."""
    global _raised, _waiting
    if _requested > _raised:
        _raised, _waiting = _requested, False
        raise KeyboardInterrupt


def select_readable(fds: list[int], timeout: float | None) -> list[int]:
    """``select`` for reading, as a place to act on Ctrl-C: one that came before is raised
    first, one that comes during the wait ends it. (A function, not a ``with`` block: the
    loop waits once per turn, and this costs it ~0.15 µs instead of ~0.5.)"""
    global _waiting  # noqa: PLW0603
    _waiting = True
    try:
        if _requested > _raised:
            act()
        return select.select(fds, [], [], timeout)[0]
    finally:
        _waiting = False


def sleep(seconds: float) -> None:
    """``time.sleep``, as a place to act on Ctrl-C (see ``select_readable``)."""
    global _waiting  # noqa: PLW0603
    _waiting = True
    try:
        if _requested > _raised:
            act()
        time.sleep(seconds)
    finally:
        _waiting = False


@contextmanager
def interruptible() -> Iterator[None]:
    """A blocking step a Ctrl-C may end at once, as a wait: one that leaves nothing half
    done when cut short, such as opening a connection (which can take the relay's whole
    timeout, a minute by default, when the relay does not answer)."""
    global _waiting  # noqa: PLW0603
    previous, _waiting = _waiting, True
    try:
        if _requested > _raised:
            act()
        yield
    finally:
        _waiting = previous


@contextmanager
def deferred() -> Iterator[None]:
    """While the body runs, Ctrl-C is deferred to the loop's waits (see the docstring)."""
    global _active, _waiting, _requested, _raised  # noqa: PLW0603
    if _active or threading.current_thread() is not threading.main_thread():
        yield
        return
    taken = [
        signum
        for signum in signal.valid_signals()
        if signal.getsignal(signum) is signal.default_int_handler
    ]
    _active, _waiting, _requested, _raised = True, False, 0, 0
    for signum in taken:
        signal.signal(signum, _on_ctrl_c)
    try:
        yield
    finally:
        for signum in taken:
            signal.signal(signum, signal.default_int_handler)
        _active = _waiting = False
    # Not in ``finally``: an error (or a KeyboardInterrupt) raised by the body is the one
    # the run reports.
    act()


__all__ = ["act", "deferred", "interruptible", "requested", "select_readable", "sleep"]
