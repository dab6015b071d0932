"""Test helper: kill this process's children, as an OOM killer or a crash would."""

from __future__ import annotations

import os
import signal
import sys
from collections.abc import Iterator
from pathlib import Path


def kill_child_processes() -> int:
    """SIGKILL every direct child of this process (the ``--jobs`` workers); how many."""
    pid = os.getpid()
    children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    for child in children:
        os.kill(int(child), signal.SIGKILL)
    return len(children)


def interruptible_command(*args: str) -> list[str]:
    """``python -m mailbounce ARGS`` with Ctrl-C (SIGINT) raising KeyboardInterrupt, as at a
    terminal, even when the tests run where SIGINT is ignored: a shell starts background
    jobs (``cmd &``) with SIGINT ignored, the children inherit it, and Python then installs
    no handler of its own (a Ctrl-C test would see the run end with exit 0)."""
    code = (
        "import signal, sys; signal.signal(signal.SIGINT, signal.default_int_handler);"
        "sys.argv[0] = 'mailbounce'; from mailbounce.cli import main; main()"
    )
    return [sys.executable, "-c", code, *args]


def exhaust_after_killing_workers(chunks: Iterator[object]) -> None:
    """Take one item of a ``--jobs`` run, SIGKILL its workers, and check that the rest of
    the run stops with the one-line error naming their death."""
    import pytest

    from mailbounce.errors import MailbounceError

    next(chunks)
    assert kill_child_processes() > 0
    with pytest.raises(MailbounceError, match="worker process died"):
        for _ in chunks:
            pass
