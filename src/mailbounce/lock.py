"""One run at a time per database: ``flock`` on ``<db>.lock`` beside it.

``flock`` is released by the kernel when the holder's file descriptor closes, including when
the holder is killed, so a lock is never stale and needs no cleanup (flock(2)).
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path
from types import TracebackType

from mailbounce.errors import LockHeldError, StoreError


def lock_path_for(db_path: Path) -> Path:
    """The lock file of a database: ``mailbounce.db`` → ``mailbounce.db.lock``."""
    return db_path.with_name(db_path.name + ".lock")


class RunLock:
    """An exclusive, non-blocking lock on a database; a context manager.

    ``acquire`` raises ``LockHeldError`` (exit 75) at once when another run holds it.
    """

    def __init__(self, db_path: Path) -> None:
        self.path = lock_path_for(db_path)
        self._fd: int | None = None

    def acquire(self) -> None:
        try:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        except OSError as exc:
            raise StoreError(f"{self.path}: cannot create the lock file: {exc.strerror}") from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _read_holder(fd)
            os.close(fd)
            who = f" (pid {holder})" if holder else ""
            raise LockHeldError(
                f"another mailbounce run holds {self.path}{who}; try again when it ends"
            ) from None
        # The pid is informational only: the flock, not the file's content, is the lock.
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        self._fd = fd

    def release(self) -> None:
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None

    @property
    def held(self) -> bool:
        return self._fd is not None

    def __enter__(self) -> RunLock:
        self.acquire()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.release()


def _read_holder(fd: int) -> str:
    try:
        return os.pread(fd, 32, 0).decode("ascii", "replace").strip()
    except OSError:
        return ""
