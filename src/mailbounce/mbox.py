"""Splitting an mbox (RFC 4155) into messages, by blocks rather than by lines.

A message starts at a ``From `` line at the start of the stream or after an empty line (RFC
4155 §2); that empty line belongs to the separator, not to the message. Body lines escaped
as ``>From `` (mboxrd) are given back with one ``>`` less. Line endings are LF, CRLF, or CR
alone (old Mac mail, issue 3): the first line of the stream decides.

The reader finds separators with ``bytearray.find`` over blocks of any size (64 KiB reads
of a file, or the lines of a test), instead of a Python step per line: about four times
less CPU per message. Memory stays bounded whatever the mailbox: a message over the size
cap keeps only its first ``cap`` bytes (whole lines) and is counted to its end.

``mbox_regions`` cuts a file into runs of whole messages reading only a few bytes at each
cut (a ``From `` line after an empty line is a separator wherever one starts reading), so
``--jobs`` workers each read their run from the file (``read_region``) instead of
receiving the messages through a pipe.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from typing import BinaryIO, NamedTuple

_FROM = b"From "
# Reads of 64 KiB, not 1 MiB (session 9): each read is appended to the reader's buffer after
# its front was cut, which reallocates the buffer; at 1 MiB each new buffer came from fresh
# pages (~4,300 page faults for a 24 MB mbox, 3.4 µs of system time a message: 12.3 ->
# 9.6 µs CPU a message to split it), at 64 KiB the allocator reuses its memory (125 faults).
BLOCK_BYTES = 1 << 16


class RawMessage(NamedTuple):
    """One message as read: its label for records, its bytes, and its size on disk.

    ``size > len(data)`` means the message was over the size cap and ``data`` is only its
    beginning; the caller quarantines it.
    """

    source: str
    data: bytes
    size: int


# ``RawMessage(label, data, size)`` without the named tuple's ``__new__`` in Python: made
# once per message of an mbox.
_raw_message = tuple.__new__


class Region(NamedTuple):
    """A run of whole messages of an mbox file: bytes ``start:end``, lines ending in
    ``eol``, messages over ``cap`` bytes cut there. How many messages come before it is
    not known when it is cut: its messages are numbered from 1 (``read_region``) and the
    reader of the results adds the count of the regions before."""

    path: str
    label: str
    start: int
    end: int
    eol: bytes
    last: bool  # the region ends the file
    cap: int


def line_ending(head: bytes | bytearray, *, final: bool) -> bytes | None:
    """``b"\\r"`` when the first line ends in a lone CR, else ``b"\\n"``; None when ``head``
    does not tell yet (no line end seen, or a CR as its last byte)."""
    lf, cr = head.find(b"\n"), head.find(b"\r")
    if cr < 0 or 0 <= lf < cr:
        return b"\n" if lf >= 0 or final else None
    if cr + 1 < len(head):
        return b"\r" if head[cr + 1 : cr + 2] != b"\n" else b"\n"
    return b"\r" if final else None


def _escaped_lines(data: bytes | bytearray, eol: bytes) -> Iterator[int]:
    """Where each ``>+From `` line starts (its first ``>``)."""
    at = data.find(b">From ")
    while at >= 0:
        start = at
        while start > 0 and data[start - 1] == 0x3E:  # ">"
            start -= 1
        if start == 0 or data[start - 1] == eol[0]:
            yield start
        at = data.find(b">From ", at + 1)


def unescape(data: bytes, eol: bytes) -> bytes:
    """Body lines ``>From `` / ``>>From `` with one ``>`` less (mboxrd, RFC 4155
    appendix: a body line ``From `` or ``>From `` was escaped with one more ``>``)."""
    kept, position = [], 0
    for start in _escaped_lines(data, eol):
        kept.append(data[position:start])
        position = start + 1
    if not kept:
        return data
    kept.append(data[position:])
    return b"".join(kept)


def _escapes(data: bytes | bytearray, eol: bytes) -> int:
    return sum(1 for _ in _escaped_lines(data, eol))


class _Reader:
    """The separator scanner: bytes in by ``feed``, messages out."""

    def __init__(self, label: str, cap: int, eol: bytes | None, number: int) -> None:
        self.label = label
        self.cap = cap
        self.eol = eol
        self.number = number
        self.ends_file = True
        self._buf = bytearray()
        self._base = 0  # absolute offset of _buf[0]
        self._state = "start"  # then "separator" (in a From line) or "content"
        self._start = 0  # _buf index of the separator line, or of the message content
        self._scan = 0  # where the next separator search begins
        self._escaped = True  # a ">From " seen in the message (True: not known)
        # An over-cap message: its kept beginning, and its size counted so far.
        self._kept: bytes | None = None
        self._counted = 0
        # Keep this much of a message before counting it off as over the cap.
        self._window = cap + cap // 5 + 64

    def feed(self, block: bytes) -> Iterator[RawMessage]:
        self._buf += block
        yield from self._advance(final=False)
        # The blank-line test looks back three bytes from a message's first line (CRLF).
        cut = self._start - 3
        if cut > 0:
            del self._buf[:cut]
            self._base += cut
            self._start -= cut
            self._scan -= cut

    def finish(self) -> Iterator[RawMessage]:
        yield from self._advance(final=True)

    def _advance(self, *, final: bool) -> Iterator[RawMessage]:
        buf = self._buf
        while True:
            if self.eol is None:
                self.eol = line_ending(buf, final=final)
                if self.eol is None:
                    return
            if self._state == "start":
                if len(buf) < len(_FROM) and not final:
                    return
                if buf.startswith(_FROM):
                    self._state = "separator"
                else:  # text before any separator: not an mbox after all, one message
                    self.number, self._state, self._scan = 1, "content", 0
                continue
            if self._state == "separator" and not self._past_separator_line(final):
                return
            # The usual message: its end found, given, and the next one's separator line
            # read, without going round the states (~1/3 of the CPU of a split).
            found = self._find_separator()
            while found >= 0:
                blank_cr = found > 0 and buf[found - 1] == 0x0D and self.eol == b"\n"
                message = self._emit(found - 1 if blank_cr else found, last=False)
                if message is not None:
                    yield message
                self._state, self._start = "separator", found + 1
                if not self._past_separator_line(final):
                    return
                found = self._find_separator()
            if final:
                message = self._emit(self._trailing_end(), last=True)
                if message is not None:
                    yield message
            elif self._kept is not None or len(buf) - self._start > self._window:
                self._count_off()
            return

    def _past_separator_line(self, final: bool) -> bool:
        """Past the ``From `` line at ``_start``: in the message's content; False when the
        line does not end in the buffer yet."""
        assert self.eol is not None
        end_of_line = self._buf.find(self.eol, self._start)
        if end_of_line < 0:
            if final:  # a last separator line with nothing after it
                self.number += 1
                self._start = len(self._buf)
            return False
        self.number += 1
        self._state = "content"
        self._start = self._scan = end_of_line + 1
        self._escaped = False
        return True

    def _blank_before(self, at: int) -> bool:
        """Whether the line ending at ``at`` (an end of line) is empty."""
        if self._base + at == 0:
            return True
        buf = self._buf
        before = buf[at - 1]
        if before == buf[at]:  # "\n\n" or "\r\r": an empty line
            return True
        # CRLF mbox: an empty line is "\r\n" right after the previous line's "\n".
        return (
            self.eol == b"\n" and before == 0x0D and (self._base + at == 1 or buf[at - 2] == 0x0A)
        )

    def _find_separator(self) -> int:
        """Where the next separator's blank line ends, or -1. One scan for ``From `` finds
        the separators (after an end of line) and the escaped lines (after a ``>``) of the
        message: a message without any is not scanned again for them (``_emit``)."""
        assert self.eol is not None
        buf, eol = self._buf, self.eol[0]
        while True:
            found = buf.find(_FROM, self._scan)
            if found < 0:
                self._scan = max(self._scan, len(buf) - len(_FROM) + 1)
                return -1
            self._scan = found + 1
            # found > 0: the scan starts past a separator line, or in a text that does not
            # start with "From ".
            before = buf[found - 1]
            if before == eol:
                if self._blank_before(found - 1):
                    return found - 1
            elif before == 0x3E:  # ">": maybe an escaped line (unescape tells)
                self._escaped = True

    def _trailing_end(self) -> int:
        """The end of the last message: without its last line when that line is empty."""
        assert self.eol is not None
        buf, at = self._buf, len(self._buf) - 1
        if at < self._start or buf[at] != self.eol[0] or not self._blank_before(at):
            return at + 1
        return at - 1 if self.eol == b"\n" and buf[at - 1 : at] == b"\r" else at

    def _count_off(self) -> None:
        """An over-cap message: keep its beginning once, then count and drop whole lines."""
        assert self.eol is not None
        buf, start = self._buf, self._start
        if self._kept is None:
            window = bytes(buf[start : start + self._window])
            window = window[: window.rfind(self.eol) + 1]
            self._kept = self._capped(unescape(window, self.eol))
            self._counted = 0
        cut = buf.rfind(self.eol, start, len(buf) - 8) + 1
        if cut > start:
            self._counted += cut - start - _escapes(buf[start:cut], self.eol)
            self._start = cut
            self._scan = max(self._scan, cut)

    def _capped(self, data: bytes) -> bytes:
        """The whole lines of ``data`` that fit in the cap."""
        assert self.eol is not None
        return data[: data.rfind(self.eol, 0, self.cap) + 1]

    def _emit(self, end: int, *, last: bool) -> RawMessage | None:
        """The message from ``_start`` to ``end``; None for the empty end of a file."""
        assert self.eol is not None
        start, kept = self._start, self._kept
        self._kept = None
        label = f"{self.label}#{self.number}"
        if kept is not None:
            rest = self._buf[start:end]
            size = self._counted + len(rest) - _escapes(rest, self.eol)
            return RawMessage(label, kept, size)
        with memoryview(self._buf) as view:  # one copy; released before the buffer moves
            data = bytes(view[start:end])
        if self._escaped:
            data = unescape(data, self.eol)
        size = len(data)
        if size > self.cap:
            data = self._capped(data)
        if size or not (last and self.ends_file):
            return _raw_message(RawMessage, (label, data, size))
        return None


def split_mbox(
    stream: Iterable[bytes],
    label: str,
    *,
    cap: int,
    eol: bytes | None = None,
    number: int = 0,
    ends_file: bool = True,
) -> Iterator[RawMessage]:
    """The messages of an mbox given as blocks of bytes (any size: lines or large reads),
    one at a time, labelled ``label#N``; ``number`` of them were before this stream.

    An empty message is given like any other, except at the very end of the file (a final
    separator line or blank line is not a message); ``ends_file=False`` for a region.
    """
    reader = _Reader(label, cap, eol, number)
    reader.ends_file = ends_file
    for block in stream:
        yield from reader.feed(block)
    yield from reader.finish()


def file_blocks(handle: BinaryIO, *, start: int = 0, end: int | None = None) -> Iterator[bytes]:
    """``handle``'s bytes ``start:end`` in blocks of ``BLOCK_BYTES``."""
    fd, position = handle.fileno(), start
    while end is None or position < end:
        want = BLOCK_BYTES if end is None else min(BLOCK_BYTES, end - position)
        block = os.pread(fd, want, position)
        if not block:
            return
        position += len(block)
        yield block


def _file_line_ending(fd: int) -> bytes:
    head = b""
    while True:
        block = os.pread(fd, BLOCK_BYTES, len(head))
        head += block
        eol = line_ending(head, final=not block)
        if eol is not None:
            return eol


def _separator_from(fd: int, at: int, eol: bytes, size: int) -> int:
    """The offset of the first separator line starting at or after ``at`` (> 2), or
    ``size``: a ``From `` line right after an empty line is one wherever it is read from."""
    pattern = eol + _FROM
    position = at - 2  # the two bytes before tell whether the line before is empty
    while position < size:
        window = os.pread(fd, 1 << 16, position)
        found = window.find(pattern, 2)
        while found >= 0:
            before = window[found - 1]
            crlf_blank = eol == b"\n" and before == 0x0D and window[found - 2] == 0x0A
            if before == pattern[0] or crlf_blank:
                return position + found + 1
            found = window.find(pattern, found + 1)
        if len(window) < len(pattern) + 2:
            break
        position += len(window) - len(pattern) - 1
    return size


def mbox_regions(path: str, label: str, *, region_bytes: int, cap: int) -> Iterator[Region]:
    """The mbox file at ``path`` (which starts with a ``From `` line) cut into runs of
    whole messages of about ``region_bytes``, reading only a few bytes at each cut."""
    with open(path, "rb") as handle:
        fd = handle.fileno()
        size = os.fstat(fd).st_size
        eol = _file_line_ending(fd)
        start = 0
        while start < size:
            end = _separator_from(fd, start + max(region_bytes, 3), eol, size)
            yield Region(path, label, start, end, eol, end >= size, cap)
            start = end


def read_region(region: Region) -> Iterator[RawMessage]:
    """The messages of one region, read from the file (in a ``--jobs`` worker)."""
    with open(region.path, "rb") as handle:
        blocks = file_blocks(handle, start=region.start, end=region.end)
        yield from split_mbox(
            blocks,
            region.label,
            cap=region.cap,
            eol=region.eol,
            ends_file=region.last,
        )
