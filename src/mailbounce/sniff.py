"""Deciding the text encoding of a user's file from its bytes, streamed.

Spreadsheets export CSV as UTF-8 (often with a BOM), UTF-16 with a BOM ("Unicode text"),
or, in French Excel, cp1252. The decision: a BOM names the encoding; otherwise a strict
UTF-8 decode of the whole file (streamed) decides UTF-8; otherwise cp1252. Bytes that do
not decode in the decided encoding are an ``InputError`` naming their line, never replaced.

One refinement: a file that decodes as UTF-8 for a while, accented letters included, and
then holds one invalid byte is a damaged UTF-8 file, not a cp1252 one; reading it as
cp1252 would silently turn every "é" into "Ã©". That case is an error at the bad byte's
line. A cp1252 file meets an invalid UTF-8 byte at its first accented letter, before any
valid multi-byte sequence, so it is not caught by this.
"""

from __future__ import annotations

import codecs
from pathlib import Path

from mailbounce.errors import InputError

_CHUNK = 1 << 20
# Longest BOMs first: UTF-32-LE's BOM starts with UTF-16-LE's.
_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)


def detect_encoding(path: Path) -> tuple[str, int]:
    """The file's encoding and the length of its BOM (to skip), checked over every byte.

    Raises InputError (with the line) for bytes the decided encoding cannot decode, and
    for a file that cannot be opened.
    """
    try:
        with path.open("rb") as handle:
            head = handle.read(4)
    except OSError as exc:
        raise InputError(path, f"cannot read: {exc.strerror}") from None
    for bom, encoding in _BOMS:
        if head.startswith(bom):
            _check_decodes(path, encoding, len(bom), damaged_utf8_only=False)
            return encoding, len(bom)
    if _check_decodes(path, "utf-8", 0, damaged_utf8_only=True):
        return "utf-8", 0
    _check_decodes(path, "cp1252", 0, damaged_utf8_only=False)
    return "cp1252", 0


def _check_decodes(path: Path, encoding: str, skip: int, *, damaged_utf8_only: bool) -> bool:
    """True when every byte after ``skip`` decodes.

    When ``damaged_utf8_only``, an undecodable byte returns False, unless non-ASCII text
    decoded before it (a damaged file: InputError). Otherwise it is an InputError.
    """
    decoder = codecs.getincrementaldecoder(encoding)("strict")
    lines = _Lines()
    seen_non_ascii = False
    with path.open("rb") as handle:
        handle.seek(skip)
        while True:
            chunk = handle.read(_CHUNK)
            pending = decoder.getstate()[0]
            try:
                text = decoder.decode(chunk, final=not chunk)
            except UnicodeDecodeError as exc:
                data = pending + chunk
                good = data[: exc.start].decode(encoding, "replace")
                seen_non_ascii = seen_non_ascii or not good.isascii()
                if damaged_utf8_only and not seen_non_ascii:
                    return False
                line = lines.add(good)
                bad = data[exc.start : exc.end].hex(" ")
                raise InputError(
                    path, f"bytes {bad} are not valid {encoding} ({exc.reason})", line
                ) from None
            lines.add(text)
            seen_non_ascii = seen_non_ascii or not text.isascii()
            if not chunk:
                return True


class _Lines:
    """The current line number, counting breaks as csv does: LF, CRLF and a lone CR (old
    Mac exports), with a CRLF split across two pieces of text counted once."""

    def __init__(self) -> None:
        self.number = 1
        self._after_cr = False

    def add(self, text: str) -> int:
        if text:
            self.number += text.count("\n") + text.count("\r") - text.count("\r\n")
            if self._after_cr and text.startswith("\n"):
                self.number -= 1
            self._after_cr = text.endswith("\r")
        return self.number
