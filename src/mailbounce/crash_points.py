"""Crash points: simulated SIGKILLs at each step of a send, for tests/test_crash_safety.py.

Inert unless the ``MAILBOUNCE_CRASH_AT`` environment variable is set.
"""

from __future__ import annotations

import os
import threading

CRASH_ENV = "MAILBOUNCE_CRASH_AT"
CRASH_EXIT_CODE = 137  # what a shell reports for SIGKILL: the crash is a simulated kill


def _parse_crash(value: str | None) -> tuple[str, int] | None:
    if not value:
        return None
    name, _, count = value.partition(":")
    return name, int(count) if count.isdigit() else 1


_CRASH_AT = _parse_crash(os.environ.get(CRASH_ENV))
_crash_hits = 0
_crash_lock = threading.Lock()


def crash_point(name: str) -> None:
    """Simulate a SIGKILL here: ``MAILBOUNCE_CRASH_AT=after_data:137`` exits (137) the
    137th time the ``after_data`` point is reached. Used by tests/test_crash_safety.py."""
    global _crash_hits  # noqa: PLW0603  one counter per process, by design
    if _CRASH_AT is None or _CRASH_AT[0] != name:
        return
    with _crash_lock:
        _crash_hits += 1
        if _crash_hits >= _CRASH_AT[1]:
            os._exit(CRASH_EXIT_CODE)
