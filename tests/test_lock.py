"""The run lock: a second run fails at once with exit 75; a killed holder leaves no stale lock."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from mailbounce.errors import EXIT_LOCKED, LockHeldError
from mailbounce.lock import RunLock, lock_path_for

HOLDER = """
import sys, time
from pathlib import Path
from mailbounce.lock import RunLock
lock = RunLock(Path(sys.argv[1]))
lock.acquire()
print("held", flush=True)
time.sleep(600)
"""


def test_lock_file_is_beside_the_database(db_path: Path) -> None:
    assert lock_path_for(db_path) == db_path.parent / "mailbounce.db.lock"


def test_second_holder_is_refused_then_allowed_after_release(db_path: Path) -> None:
    first = RunLock(db_path)
    first.acquire()
    with pytest.raises(LockHeldError) as info:
        RunLock(db_path).acquire()
    assert info.value.exit_code == EXIT_LOCKED
    assert "\n" not in str(info.value)
    assert str(os.getpid()) in str(info.value)
    first.release()
    with RunLock(db_path) as again:
        assert again.held


def test_killed_holder_leaves_no_stale_lock(db_path: Path) -> None:
    child = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(db_path)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert child.stdout is not None
        assert child.stdout.readline().strip() == "held"
        with pytest.raises(LockHeldError, match=f"pid {child.pid}"):
            RunLock(db_path).acquire()
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait()
    assert lock_path_for(db_path).exists()  # the file stays; the kernel dropped the flock
    with RunLock(db_path) as lock:
        assert lock.held
