"""Body parts encoded from whole lines, each run of lines measured and encoded once.

``encode_body`` states the rules for one body (7bit, 8bit, quoted-printable or base64, CRLF
lines). ``PartEncoder`` gives the same octets faster for a campaign: the template's fixed
lines are measured (ASCII or not, longest line, MIME boundary inside, UTF-8 growth) and
encoded once, and only the lines holding recipient values are measured per message,
through a cache (most recipients share a town, a greeting, a membership status). That is
exact because every rule is a sum or a maximum over lines, and quoted-printable
(``binascii.b2a_qp``, RFC 2045 §6.7) starts afresh after each line break, so a body's
encoding is its lines' encodings end to end. base64 is not line-based: it is encoded whole.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Sequence
from typing import Any

from mailbounce.compose_fill import Context, Filler, Pieces, layout

MAX_LINE = 998  # RFC 5322 §2.1.1, also for 8bit data (RFC 6152 §3)
_BASE64_LINE = 76  # RFC 2045 §6.8; what base64.encodebytes writes
_CACHE_LIMIT = 4096  # distinct value lines kept per part; cleared when full
_CACHED_TEXT = 2048  # longer ones are measured each time: the cache stays a few MB at most


def encode_body(text: str, boundary: str, *, eight_bit: bool = False) -> tuple[str, str]:
    """(Content-Transfer-Encoding, encoded body with CRLF lines ending in CRLF).

    7bit for short-lined ASCII; with ``eight_bit`` (the relay offers 8BITMIME, RFC 6152)
    8bit for UTF-8 text whose lines fit 998 octets, no encoding at all; otherwise
    quoted-printable for mostly-ASCII text (French prose stays readable), base64 when
    more than a fifth of the characters are not ASCII. Line breaks are normalised first,
    so no bare CR or LF can survive.
    """
    body = text.replace("\r\n", "\n").replace("\r", "\n")
    if not body.endswith("\n"):
        body += "\n"
    if body.isascii():
        if max(map(len, body.split("\n"))) <= MAX_LINE and boundary not in body:
            return "7bit", body.replace("\n", "\r\n")
        return "quoted-printable", _qp(body.encode("ascii")).decode("ascii")
    data = body.encode("utf-8")
    if eight_bit and max(map(len, data.split(b"\n"))) <= MAX_LINE and boundary not in body:
        return "8bit", body.replace("\n", "\r\n")
    # Each non-ASCII character takes 2 to 4 bytes: the growth measures how French it is.
    if (len(data) - len(body)) * 5 > len(body):
        # RFC 2045 §6.8: text is put in canonical form (CRLF line breaks) before base64.
        canonical = data.replace(b"\n", b"\r\n")
        return "base64", base64.encodebytes(canonical).decode("ascii").replace("\n", "\r\n")
    return "quoted-printable", _qp(data).decode("ascii")


def _qp(data: bytes) -> bytes:
    return binascii.b2a_qp(data, istext=True).replace(b"\n", b"\r\n")


class Lines:
    """Whole lines of normalised text (LF line ends), measured and encoded.

    ``longest``: octets of the longest line in UTF-8; ``growth``: UTF-8 octets beyond one
    per character; ``crlf``: UTF-8 with CRLF line ends (7bit, 8bit and the base64 input);
    ``qp``: quoted-printable with CRLF line ends. ``crlf_data`` and ``qp_data``: the same
    with each leading dot doubled, as in SMTP DATA (RFC 5321 §4.5.2). The quoted-printable
    forms are encoded when first asked for: a line holding a recipient's values is often
    met once, and most bodies go out 7bit or 8bit.
    """

    __slots__ = (
        "_data",
        "_qp",
        "_qp_data",
        "ascii",
        "chars",
        "crlf",
        "crlf_data",
        "growth",
        "has_boundary",
        "longest",
    )

    def __init__(self, text: str, boundary: str) -> None:
        """``text``: whole lines, any line breaks (they are normalised to LF first)."""
        if "\r" in text:
            text = text.replace("\r\n", "\n").replace("\r", "\n")
        data = text.encode("utf-8")
        self.ascii = len(data) == len(text)
        self.has_boundary = boundary in text
        self.chars = len(text)
        self.growth = len(data) - len(text)
        if data.find(b"\n") == len(data) - 1 >= 0:  # one line (a template line with values)
            self.longest = len(data) - 1
            self.crlf = crlf = data[:-1] + b"\r\n"
            self.crlf_data = b"." + crlf if data[:1] == b"." else crlf
        else:
            self.longest = max(map(len, data.split(b"\n")))
            self.crlf = crlf = data.replace(b"\n", b"\r\n")
            self.crlf_data = dot_stuffed(crlf)
        self._data = data
        self._qp: bytes | None = None
        self._qp_data: bytes | None = None

    @property
    def qp(self) -> bytes:
        if self._qp is None:
            self._qp = _qp(self._data)
        return self._qp

    @property
    def qp_data(self) -> bytes:
        if self._qp_data is None:
            self._qp_data = dot_stuffed(self.qp)
        return self._qp_data


def dot_stuffed(lines: bytes) -> bytes:
    """CRLF ``lines`` with a dot added before each line's leading dot (RFC 5321 §4.5.2)."""
    if b"." not in lines:  # most value lines: nothing to look for
        return lines
    if lines.startswith(b"."):
        lines = b"." + lines
    return lines.replace(b"\r\n.", b"\r\n..")


# What an empty last group adds: nothing (no text can hold the boundary "-" either).
EMPTY = Lines("", "-")


def encode_lines(
    parts: Sequence[Lines], eight_bit: bool, smtp_data: bool = False
) -> tuple[str, bytes]:
    """``encode_body``'s choice and octets for the body made of ``parts`` in order; with
    ``smtp_data``, leading dots doubled."""
    encoding, chunks = _lines_chunks(parts, eight_bit, smtp_data)
    return encoding, b"".join(chunks)


def _lines_chunks(
    parts: Sequence[Lines], eight_bit: bool, smtp_data: bool
) -> tuple[str, list[bytes]]:
    ascii, longest, has_boundary, chars, growth = True, 0, False, 0, 0
    for part in parts:
        ascii = ascii and part.ascii
        longest = max(longest, part.longest)
        has_boundary = has_boundary or part.has_boundary
        chars += part.chars
        growth += part.growth
    return _encoded(parts, (ascii, longest, has_boundary, chars, growth), eight_bit, smtp_data)


Figures = tuple[bool, int, bool, int, int]  # ascii, longest, has_boundary, chars, growth


def _encoded(
    parts: Sequence[Lines], figures: Figures, eight_bit: bool, smtp_data: bool
) -> tuple[str, list[bytes]]:
    """The encoding and the encoded body in pieces, one per part (base64: one piece),
    for the caller to join once with the rest of the message, or to write as they are."""
    ascii, longest, has_boundary, chars, growth = figures
    fits = longest <= MAX_LINE and not has_boundary
    if fits and (ascii or eight_bit):  # 7bit, or 8bit for a relay with 8BITMIME
        if smtp_data:
            return "7bit" if ascii else "8bit", [part.crlf_data for part in parts]
        return "7bit" if ascii else "8bit", [part.crlf for part in parts]
    if not ascii and growth * 5 > chars:
        # No dot in the base64 alphabet: nothing to double.
        return "base64", [_base64(b"".join([part.crlf for part in parts]))]
    if smtp_data:
        return "quoted-printable", [part.qp_data for part in parts]
    return "quoted-printable", [part.qp for part in parts]


def _base64(canonical: bytes) -> bytes:
    # base64.encodebytes' layout: 57 input octets (76 characters) per CRLF-ended line.
    encoded = binascii.b2a_base64(canonical, newline=False)
    lines = [encoded[i : i + _BASE64_LINE] for i in range(0, len(encoded), _BASE64_LINE)]
    return b"\r\n".join(lines) + b"\r\n"


class PartEncoder:
    """One body part (text or HTML) of a campaign, encoded per recipient."""

    def __init__(self, filler: Filler, boundary: str) -> None:
        self.filler = filler
        self.boundary = boundary
        self._cache: dict[str, Lines] = {}
        self._items: list[Lines | Pieces] = []
        self._groups: list[tuple[int, Pieces]] = []  # (index in _items, pieces with values)
        if filler.pieces is not None:
            items = layout(filler.pieces)
            if items and isinstance(items[-1], str) and not items[-1].endswith(("\n", "\r")):
                items[-1] += "\n"  # the body always ends with a line break
            for index, item in enumerate(items):
                if isinstance(item, str):
                    self._items.append(Lines(item, boundary))
                else:
                    self._items.append(item)
                    self._groups.append((index, item))
        fixed = [item for item in self._items if isinstance(item, Lines)]
        self._fixed: Figures = (
            all(part.ascii for part in fixed),
            max((part.longest for part in fixed), default=0),
            any(part.has_boundary for part in fixed),
            sum(part.chars for part in fixed),
            sum(part.growth for part in fixed),
        )
        # ``_plain``'s case: the fixed lines fit as they are (7bit or 8bit), not empty.
        self._fixed_fits = self._fixed[1] <= MAX_LINE and not self._fixed[2] and self._fixed[3] > 0
        self._fixed_data = [
            item.crlf_data if isinstance(item, Lines) else b"" for item in self._items
        ]

    def encode(
        self, context: Context, eight_bit: bool, smtp_data: bool = False
    ) -> tuple[str, bytes]:
        """(Content-Transfer-Encoding, encoded body) for one recipient's values; with
        ``smtp_data``, leading dots doubled."""
        encoding, chunks = self.encode_chunks(context, eight_bit, smtp_data)
        return encoding, b"".join(chunks)

    def encode_chunks(
        self, context: Context, eight_bit: bool, smtp_data: bool = False
    ) -> tuple[str, list[bytes]]:
        """``encode``'s body in pieces (the fixed runs' octets as they are, never copied
        into a message-sized string: the caller joins them once, or writes them)."""
        if self.filler.pieces is None:
            whole = self._whole(self.filler.fill(context))
            return _lines_chunks(whole, eight_bit, smtp_data)
        if smtp_data and self._fixed_fits:
            plain = self._plain(context, eight_bit)
            if plain is not None:
                return plain
        parts: list[Any] = self._items.copy()
        ascii, longest, has_boundary, chars, growth = self._fixed
        last = len(parts) - 1
        for index, pieces in self._groups:
            text = self.filler.join(pieces, context)
            if index == last and not text.endswith(("\n", "\r")):
                # The body always ends with a line break; an empty last group adds nothing.
                text = text + "\n" if text else ""
            lines = self._measured(text) if text else EMPTY
            parts[index] = lines
            ascii = ascii and lines.ascii
            longest = max(longest, lines.longest)
            has_boundary = has_boundary or lines.has_boundary
            chars += lines.chars
            growth += lines.growth
        if not chars:  # an empty body is one empty line
            return _lines_chunks([self._measured("\n")], eight_bit, smtp_data)
        figures = (ascii, longest, has_boundary, chars, growth)
        return _encoded(parts, figures, eight_bit, smtp_data)

    def _plain(self, context: Context, eight_bit: bool) -> tuple[str, list[bytes]] | None:
        """``encode_chunks``' SMTP DATA in the usual case, without measuring each value
        line (a ``Lines``, cached): the fixed lines fit, and so do the value lines, being
        short, without a CR or the boundary, and ASCII (or 8bit allowed). The same octets
        as ``_encoded`` gives then (its 7bit/8bit branch); None: another case, measured."""
        ascii = self._fixed[0]
        if not (ascii or eight_bit):
            return None
        chunks = self._fixed_data.copy()
        last = len(chunks) - 1
        boundary = self.boundary
        join = self.filler.join
        for index, pieces in self._groups:
            text = join(pieces, context)
            if index == last and not text.endswith(("\n", "\r")) and text:
                text += "\n"  # the body always ends with a line break
            data = text.encode("utf-8")
            # No line of a text this short can pass MAX_LINE; a CR would need normalising.
            if len(data) > MAX_LINE or "\r" in text or boundary in text:
                return None
            if len(data) != len(text):
                if not eight_bit:
                    return None
                ascii = False
            crlf = data.replace(b"\n", b"\r\n")
            chunks[index] = dot_stuffed(crlf)
        return ("7bit" if ascii else "8bit"), chunks

    def _whole(self, text: str) -> list[Lines]:
        """A body Jinja2 rendered whole, cut into lines looked up one by one."""
        if "\r" in text:
            text = text.replace("\r\n", "\n").replace("\r", "\n")
        lines = text.split("\n")
        tail = lines.pop()
        parts = [self._measured(line + "\n") for line in lines]
        if tail or not parts:
            parts.append(self._measured(tail + "\n"))
        return parts

    def _measured(self, text: str) -> Lines:
        found = self._cache.get(text)
        if found is None:
            found = Lines(text, self.boundary)
            if len(text) <= _CACHED_TEXT:
                if len(self._cache) >= _CACHE_LIMIT:
                    self._cache.clear()
                self._cache[text] = found
        return found
