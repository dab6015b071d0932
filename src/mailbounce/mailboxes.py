"""Bounce mail on disk or piped in: message files, folders, Maildir, streamed mbox, stdin.

Every source yields ``RawMessage(source, data, size)`` lazily, in a stable order, so a 1 GB
mailbox never sits in memory: an mbox is split block by block (``mailbounce.mbox``), a
folder is walked file by file. ``source`` is the label in records: the path as reached from
the argument (``path#N`` for the N-th message of an mbox). IMAP is in ``mailbounce.sources``.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Protocol

from mailbounce.errors import InputError
from mailbounce.mbox import RawMessage, Region, file_blocks, mbox_regions, split_mbox

__all__ = [
    "DEFAULT_MAX_MESSAGE_BYTES",
    "MessageSource",
    "PathSource",
    "RawMessage",
    "StdinSource",
    "is_maildir",
    "split_mbox",
]

# A message larger than this is not kept whole: it is passed on truncated, with its real
# size, and quarantined by the caller (memory stays bounded whatever the mailbox holds).
DEFAULT_MAX_MESSAGE_BYTES = 20 * 1024 * 1024

_MBOX_FROM = b"From "


class MessageSource(Protocol):
    """A place bounce mail is read from."""

    label: str

    def __iter__(self) -> Iterator[RawMessage]: ...


def _read_file(path: Path, label: str, cap: int) -> RawMessage:
    try:
        with path.open("rb") as handle:
            data = handle.read(cap + 1)
            size = len(data)
            if size > cap:
                size = os.fstat(handle.fileno()).st_size
                data = data[:cap]
    except OSError as exc:
        raise InputError(label, f"cannot read: {exc.strerror or exc}") from None
    return RawMessage(label, data, size)


def _is_mbox(path: Path, label: str) -> bool:
    try:
        with path.open("rb") as handle:
            return handle.read(len(_MBOX_FROM)) == _MBOX_FROM
    except OSError as exc:
        raise InputError(label, f"cannot read: {exc.strerror or exc}") from None


def _file_messages(path: Path, label: str, cap: int) -> Iterator[RawMessage]:
    """One file: an mbox when it starts with a ``From `` line, else one message."""
    if _is_mbox(path, label):
        try:
            with path.open("rb") as handle:
                yield from split_mbox(file_blocks(handle), label, cap=cap)
        except OSError as exc:
            raise InputError(label, f"cannot read: {exc.strerror or exc}") from None
    else:
        yield _read_file(path, label, cap)


def _file_units(
    path: Path, label: str, cap: int, region_bytes: int
) -> Iterator[RawMessage | Region]:
    """One file for ``--jobs`` workers: an mbox as regions they read themselves."""
    if not _is_mbox(path, label):
        yield _read_file(path, label, cap)
        return
    try:
        yield from mbox_regions(str(path), label, region_bytes=region_bytes, cap=cap)
    except OSError as exc:
        raise InputError(label, f"cannot read: {exc.strerror or exc}") from None


def is_maildir(path: Path) -> bool:
    """A Maildir has ``cur/`` and ``new/`` folders."""
    return (path / "cur").is_dir() and (path / "new").is_dir()


@dataclass
class PathSource:
    """A message file, an mbox file, a Maildir, or a folder of message files (recursive).

    In a plain folder every file is a message whatever its extension (an mbox when it
    starts with ``From ``); hidden files and folders (``.DS_Store``, ``.git``) and a
    Maildir's ``tmp/`` (messages still being written) are skipped. Order: sorted names.
    """

    label: str
    max_message_bytes: int = DEFAULT_MAX_MESSAGE_BYTES

    def __post_init__(self) -> None:
        path = Path(self.label)
        try:
            mode = path.stat().st_mode
        except FileNotFoundError:
            raise InputError(self.label, "no such file or directory") from None
        except OSError as exc:
            raise InputError(self.label, f"cannot read: {exc.strerror or exc}") from None
        if not os.access(path, os.R_OK):
            raise InputError(self.label, "permission denied")
        if not (stat.S_ISREG(mode) or stat.S_ISDIR(mode)):
            raise InputError(self.label, "not a file or a folder")

    def __iter__(self) -> Iterator[RawMessage]:
        for path, label in self._files(Path(self.label), self.label):
            yield from _file_messages(path, label, self.max_message_bytes)

    def units(self, region_bytes: int) -> Iterator[RawMessage | Region]:
        """The messages as ``__iter__`` gives them, but each mbox file as regions of about
        ``region_bytes`` that ``--jobs`` workers read from the file themselves."""
        for path, label in self._files(Path(self.label), self.label):
            yield from _file_units(path, label, self.max_message_bytes, region_bytes)

    def _files(self, path: Path, label: str) -> Iterator[tuple[Path, str]]:
        if not path.is_dir():
            yield path, label
            return
        if is_maildir(path):
            for sub in ("cur", "new"):
                yield from self._files(path / sub, os.path.join(label, sub))
            return
        try:
            entries = sorted(os.scandir(path), key=lambda entry: entry.name)
        except OSError as exc:
            raise InputError(label, f"cannot read the folder: {exc.strerror or exc}") from None
        for entry in entries:
            if entry.name.startswith("."):
                continue
            child = os.path.join(label, entry.name)
            if entry.is_dir():
                if entry.name != "tmp" or not is_maildir(path):
                    yield from self._files(Path(entry.path), child)
            elif entry.is_file():
                yield Path(entry.path), child


@dataclass
class StdinSource:
    """``-``: one message piped by an MTA (an mbox when it starts with a ``From `` line)."""

    stream: BinaryIO
    label: str = "-"
    max_message_bytes: int = DEFAULT_MAX_MESSAGE_BYTES

    def __iter__(self) -> Iterator[RawMessage]:
        head = self.stream.read(len(_MBOX_FROM))
        if head == _MBOX_FROM:
            yield from split_mbox(
                _stream_blocks(head, self.stream), self.label, cap=self.max_message_bytes
            )
            return
        rest = self.stream.read(self.max_message_bytes + 1 - len(head))
        data = head + rest
        size = len(data)
        while size > self.max_message_bytes:
            more = self.stream.read(1 << 20)
            if not more:
                break
            size += len(more)
        if not data:
            return
        yield RawMessage(self.label, data[: self.max_message_bytes], size)


def _stream_blocks(head: bytes, stream: BinaryIO) -> Iterator[bytes]:
    """``head`` (already read) then the rest of ``stream``, in large blocks."""
    yield head
    while block := stream.read(1 << 20):
        yield block
