"""Test helper: kill this process's children, as an OOM killer or a crash would."""

from __future__ import annotations

import os
import signal
from pathlib import Path


def kill_child_processes() -> int:
    """SIGKILL every direct child of this process (the ``--jobs`` workers); how many."""
    pid = os.getpid()
    children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    for child in children:
        os.kill(int(child), signal.SIGKILL)
    return len(children)
