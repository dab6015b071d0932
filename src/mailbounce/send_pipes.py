"""What a send worker tells its parent (``send_workers``), over a pipe of its own.

Each message is a ``(kind, value)`` tuple, pickled and framed by its length
(``send_message``); the parent reads whole messages out of what arrives (``Inbox``).
Progress goes at most every ``PROGRESS_SECONDS`` (``WorkerProgress``).
"""

from __future__ import annotations

import os
import pickle
import struct
import time
from typing import Any

PROGRESS_SECONDS = 0.1


class WorkerProgress:
    """A worker's progress, sent to the parent at most every ``PROGRESS_SECONDS``: the bar
    needs no more, and a message per commit would cost the parent a wake-up each."""

    def __init__(self, pipe: int) -> None:
        self.pipe = pipe
        self.steps = 0
        self.sent_at = time.monotonic()

    def advance(self, steps: int) -> None:
        self.steps += steps
        if time.monotonic() - self.sent_at >= PROGRESS_SECONDS:
            self.flush()

    def flush(self) -> None:
        if self.steps:
            send_message(self.pipe, ("advance", self.steps))
        self.steps, self.sent_at = 0, time.monotonic()


_FRAME = struct.Struct("!I")  # each message: its length, then its pickle


def send_message(pipe: int, message: tuple[str, Any]) -> None:
    """Write one message (a pickled tuple, framed by its length) whole to ``pipe``."""
    data = pickle.dumps(message)
    view = memoryview(_FRAME.pack(len(data)) + data)
    while view:
        view = view[os.write(pipe, view) :]


class Inbox:
    """The parent's end of a worker's pipe: whole messages out of what arrives."""

    def __init__(self, fd: int) -> None:
        self.fd = fd
        self._buffer = bytearray()

    def read(self) -> list[tuple[str, Any]] | None:
        """The messages completed by what can be read now; None once the pipe is closed."""
        chunk = os.read(self.fd, 1 << 16)
        if not chunk:
            return None
        self._buffer += chunk
        messages = []
        while len(self._buffer) >= _FRAME.size:
            (size,) = _FRAME.unpack_from(self._buffer)
            end = _FRAME.size + size
            if len(self._buffer) < end:
                break
            messages.append(pickle.loads(self._buffer[_FRAME.size : end]))
            del self._buffer[:end]
        return messages

    def close(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1
