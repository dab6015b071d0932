"""Member lists from CSV files as spreadsheets really export them, read as a stream.

What a list file may be:

- encoded in UTF-8 (with or without BOM), UTF-16 or UTF-32 with a BOM, or cp1252 (French
  Excel's "CSV (séparateur : point-virgule)"); decided from the bytes (``encodings``);
- delimited by ``;``, ``,`` or tab, sniffed from the header line; quoted fields may hold
  newlines and doubled quotes (RFC 4180);
- headed by any spelling of the usual column names: ``Adresse e-mail``, ``Courriel``,
  ``E-mail``, ``Prénom``, ``Nom``... (``COLUMN_ALIASES``), or configured (``ColumnMapping``);
- or a plain text file with one address per line and no header (``read_addresses``).

Nothing is ever loaded whole: rows are yielded one at a time and duplicates are found
through a compact table of two 64-bit digests (``_SeenAddresses``, about 48 bytes an address).
"""

from __future__ import annotations

import csv
import io
import re
from array import array
from collections.abc import Iterator
from dataclasses import dataclass
from operator import itemgetter
from pathlib import Path
from typing import NamedTuple, TextIO

from mailbounce.addresses import normalize_address
from mailbounce.errors import InputError
from mailbounce.list_columns import (
    COLUMN_ALIASES,
    ColumnMapping,
    Layout,
    header_key,
    layout_from_headers,
    slug,
    sniff_delimiter,
)
from mailbounce.sniff import detect_encoding

__all__ = [
    "COLUMN_ALIASES",
    "ColumnMapping",
    "ListEntry",
    "ListReader",
    "ListSummary",
    "address_problem",
    "header_key",
    "is_plainly_valid",
    "read_addresses",
    "slug",
    "unwrap_address",
]


class ListEntry(NamedTuple):
    """One data row of a list file (a named tuple: made for every row of a list, in about
    half the time of a frozen dataclass, which sets each of its fields through a call).

    ``line`` is the physical line where the row starts (the header is line 1).
    ``address`` is normalised (``addresses.normalize_address``) or None when the cell is
    empty. ``problem`` says why the address is invalid, else None. ``duplicate_of`` is the
    line of the first row with the same address, else None. ``fields`` holds every column
    by its slug and by its original header name, plus ``email``, ``first_name`` and
    ``last_name``; values are kept exactly as written (formulas included): CR and LF may be
    in them, and it is ``compose`` that keeps them out of headers.
    """

    line: int
    address: str | None
    raw_address: str
    first_name: str | None
    last_name: str | None
    fields: dict[str, str]
    problem: str | None = None
    duplicate_of: int | None = None


@dataclass
class ListSummary:
    """Counts over one complete reading of a list file.

    ``accepted + rejected + without_address == data_rows`` always. Duplicates are valid
    addresses, so they count in ``accepted`` and also in ``duplicates``: the number of
    distinct people to mail is ``accepted - duplicates``.
    """

    path: Path
    data_rows: int = 0
    accepted: int = 0
    rejected: int = 0
    without_address: int = 0
    duplicates: int = 0
    encoding: str = ""
    delimiter: str = ""


# A conservative subset of what email_validator accepts, checked first because a regex
# costs ~1 µs where validate_email costs ~50 µs (1,000,000 rows: 1 s instead of 50 s).
# Anything it does not match goes to email_validator, the project's syntax authority;
# tests/test_lists.py checks with hypothesis that everything it matches, the authority
# accepts too.
_ATEXT = r"[a-z0-9!#$%&'*+/=?^_`{|}~-]"
_LABEL = r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?"
_FAST_VALID = re.compile(rf"{_ATEXT}+(?:\.{_ATEXT}+)*@(?:{_LABEL}\.)+[a-z]{{2,63}}")
_SPECIAL_USE_TLDS = frozenset({"arpa", "invalid", "local", "localhost", "onion", "test"})


def is_plainly_valid(address: str) -> bool:
    """True for the common addresses email_validator is certain to accept (the fast path)."""
    if len(address) > 254 or _FAST_VALID.fullmatch(address) is None:
        return False
    local, _, domain = address.partition("@")
    return (
        len(local) <= 64
        and "--" not in domain
        and domain[domain.rfind(".") + 1 :] not in _SPECIAL_USE_TLDS
    )


def unwrap_address(text: str) -> str:
    """The address in ``Name <address>`` (Outlook, Thunderbird exports) or ``mailto:address``
    (a spreadsheet hyperlink pasted as text); the text itself otherwise."""
    if text[:7].lower() == "mailto:":
        text = text[7:].partition("?")[0].strip()
    if text.endswith(">") and "<" in text:
        text = text[text.rfind("<") + 1 : -1].strip()
    return text


def address_problem(address: str) -> str | None:
    """Why a normalised address is not valid syntax, or None when it is."""
    if is_plainly_valid(address):
        return None
    if "@" not in address:
        return "missing @"
    # Imported here: it costs ~0.1 s (its regexes), and a list whose addresses all take the
    # fast path above never needs it.
    from email_validator import EmailNotValidError, validate_email

    try:
        validate_email(address, check_deliverability=False)
    except EmailNotValidError as exc:
        return str(exc)
    return None


class _SeenAddresses:
    """Addresses already met and their first line, in an open-addressing table.

    Keys are 64-bit digests (``hash`` of the address) in ``array('Q')`` (0 marks a free
    slot), each confirmed by a second, independent 64-bit digest (the hash of the address
    behind a prefix) and the line in parallel arrays: 24 bytes a slot, at most half full,
    where a set of strings would cost ~100 bytes an address. A false "duplicate" would skip
    a person, so both digests must match: probability ~n²/2¹²⁹, nil in practice.
    """

    def __init__(self, slots: int = 1 << 16) -> None:
        # 65,536 slots (1.5 MB) hold a list of 32,768 addresses without growing: each
        # growth re-inserts every address in Python (a 20,000-row list grew 6 times,
        # ~0.05 s; issue 2). ``slots`` is a power of two.
        self._keys = array("Q", bytes(8 * slots))
        self._checks = array("Q", bytes(8 * slots))
        self._lines = array("q", bytes(8 * slots))
        self._used = 0

    def first_line(self, address: str, line: int) -> int | None:
        """The line where ``address`` was first seen; None (and remembered) when new."""
        # str's hash is SipHash over the text, 64 bits, keyed per process: as good a
        # digest as blake2b for a table that lives in one process, and much cheaper.
        key = (hash(address) & 0xFFFF_FFFF_FFFF_FFFF) or 1
        check = hash("\x00" + address) & 0xFFFF_FFFF_FFFF_FFFF
        keys = self._keys
        mask = len(keys) - 1
        slot = key & mask
        while True:  # linear probing; the table is at most half full
            found = keys[slot]
            if found == key and self._checks[slot] == check:
                return self._lines[slot]
            if not found:
                break
            slot = (slot + 1) & mask
        keys[slot] = key
        self._checks[slot] = check
        self._lines[slot] = line
        self._used += 1
        if self._used * 2 > mask:
            self._grow()
        return None

    def _free_slot(self, key: int) -> int:
        mask = len(self._keys) - 1
        slot = key & mask
        keys = self._keys
        while keys[slot]:
            slot = (slot + 1) & mask
        return slot

    def _grow(self) -> None:
        old_keys, old_checks, old_lines = self._keys, self._checks, self._lines
        self._keys = array("Q", bytes(16 * len(old_keys)))
        self._checks = array("Q", bytes(16 * len(old_keys)))
        self._lines = array("q", bytes(16 * len(old_keys)))
        for key, check, line in zip(old_keys, old_checks, old_lines, strict=True):
            if key:
                slot = self._free_slot(key)
                self._keys[slot] = key
                self._checks[slot] = check
                self._lines[slot] = line


class ListReader:
    """Reads a member list as a stream of ``ListEntry``; ``summary`` is complete at the end.

    Opening decides the encoding (one streamed pass over the bytes), the delimiter and
    the columns, so ``columns`` is known before any row is read and a wrong file fails at
    once. Rows whose cells are all empty (spreadsheets export them) are skipped and not
    counted. Rows shorter than the header are padded with empty cells; a row with more
    non-empty cells than the header is an ``InputError`` naming its line (extra empty
    cells, from a trailing delimiter, are ignored). Invalid addresses carry ``problem``;
    the same normalised address seen again carries ``duplicate_of`` and counts both in
    ``accepted`` and in ``duplicates``. A single-column file whose first line is an
    address, not a header, is read as a plain list of addresses (line 1 is data).
    Iterating again reads the file again and starts a new summary.
    """

    def __init__(self, path: Path, *, columns: ColumnMapping | None = None) -> None:
        self.path = Path(path)
        self._mapping = columns or ColumnMapping()
        self._encoding, self._bom = detect_encoding(self.path)
        header_line = self._first_line()
        self._delimiter = sniff_delimiter(header_line)
        self._layout = self._read_layout()
        self.summary = ListSummary(
            self.path, encoding=self._encoding, delimiter=self._delimiter or "none"
        )

    @property
    def encoding(self) -> str:
        return self._encoding

    @property
    def delimiter(self) -> str | None:
        """The sniffed delimiter; None for a plain one-address-per-line file."""
        return self._delimiter

    @property
    def columns(self) -> tuple[str, ...]:
        """The variable names rows provide to templates (slugs and original headers)."""
        if self._layout is None:
            return ("email",)
        names: dict[str, None] = dict.fromkeys(["email", "first_name", "last_name"])
        for column_names in self._layout.names:
            names.update(dict.fromkeys(column_names))
        return tuple(names)

    def __iter__(self) -> Iterator[ListEntry]:
        summary = self.summary = ListSummary(
            self.path, encoding=self._encoding, delimiter=self._delimiter or "none"
        )
        seen = _SeenAddresses()
        rows = self._plain_rows() if self._layout is None else self._csv_rows(self._layout)
        # One flat loop: this runs a million times for a large list.
        for line, raw, first, last, fields in rows:
            summary.data_rows += 1
            text = raw.strip()
            if text and (text[-1] == ">" or text[:7].lower() == "mailto:"):
                text = unwrap_address(text)
            if not text:
                summary.without_address += 1
                yield ListEntry(line, None, raw, first, last, fields)
                continue
            address = normalize_address(text)
            problem = address_problem(address)
            if problem is not None:
                summary.rejected += 1
                yield ListEntry(line, address, raw, first, last, fields, problem)
                continue
            summary.accepted += 1
            duplicate = seen.first_line(address, line)
            if duplicate is not None:
                summary.duplicates += 1
            yield ListEntry(line, address, raw, first, last, fields, None, duplicate)

    # -- reading -------------------------------------------------------------------------

    def _open(self) -> TextIO:
        raw = self.path.open("rb")
        raw.seek(self._bom)
        return io.TextIOWrapper(raw, encoding=self._encoding, errors="strict", newline="")

    def _first_line(self) -> str:
        with self._open() as handle:
            try:
                return handle.readline()
            except UnicodeDecodeError as exc:
                raise InputError(self.path, f"undecodable bytes ({exc.reason})", 1) from None

    def _reader(self, handle: TextIO) -> Iterator[tuple[int, list[str]]]:
        """(start line, cells) for each non-blank record, with csv errors located."""
        assert self._delimiter is not None
        reader = csv.reader(handle, delimiter=self._delimiter, strict=False)
        end = 0
        try:
            for cells in reader:
                start, end = end + 1, reader.line_num
                if "".join(cells).strip():
                    yield start, cells
        except csv.Error as exc:
            raise InputError(self.path, f"unreadable CSV: {exc}", end + 1) from None
        except UnicodeDecodeError as exc:
            raise InputError(self.path, f"undecodable bytes ({exc.reason})", end + 1) from None

    def _read_layout(self) -> Layout | None:
        if self._delimiter is None:
            return None
        with self._open() as handle:
            first = next(self._reader(handle), None)
        if first is None:
            raise InputError(self.path, "the file is empty: expected a header line", 1)
        headers = [cell.strip() for cell in first[1]]
        while len(headers) > 1 and not headers[-1]:
            headers.pop()
        return layout_from_headers(self.path, headers, self._mapping)

    def _csv_rows(
        self, layout: Layout
    ) -> Iterator[tuple[int, str, str | None, str | None, dict[str, str]]]:
        width = len(layout.headers)
        names = [name for column in layout.names for name in column]
        indexes = [i for i, column in enumerate(layout.names) for _ in column]
        # itemgetter of several indexes returns a tuple, in C: the fastest way to fan out.
        pick = itemgetter(*indexes, indexes[0])
        names.append(names[0])
        at, first_at, last_at = layout.address, layout.first_name, layout.last_name
        assert self._delimiter is not None
        with self._open() as handle:
            # ``_reader``'s loop, in line here: one generator less for every row (issue 2).
            reader = csv.reader(handle, delimiter=self._delimiter, strict=False)
            end = 0
            header = True
            try:
                for cells in reader:
                    line, end = end + 1, reader.line_num
                    if not "".join(cells).strip():
                        continue
                    if header:
                        header = False
                        continue
                    if len(cells) > width:
                        if "".join(cells[width:]).strip():
                            raise InputError(
                                self.path,
                                f"{len(cells)} cells but the header has {width} columns "
                                f"(is a value holding an unquoted '{self._delimiter}'?)",
                                line,
                            )
                        del cells[width:]
                    elif len(cells) < width:
                        cells.extend([""] * (width - len(cells)))
                    fields = dict(zip(names, pick(cells), strict=True))
                    first = None if first_at is None else cells[first_at].strip() or None
                    last = None if last_at is None else cells[last_at].strip() or None
                    raw = cells[at]
                    fields["email"] = raw.strip()
                    fields["first_name"] = first or ""
                    fields["last_name"] = last or ""
                    yield line, raw, first, last, fields
            except csv.Error as exc:
                raise InputError(self.path, f"unreadable CSV: {exc}", end + 1) from None
            except UnicodeDecodeError as exc:
                raise InputError(self.path, f"undecodable bytes ({exc.reason})", end + 1) from None

    def _plain_rows(
        self,
    ) -> Iterator[tuple[int, str, str | None, str | None, dict[str, str]]]:
        with self._open() as handle:
            line = 0
            while True:
                try:
                    text = handle.readline()
                except UnicodeDecodeError as exc:
                    raise InputError(
                        self.path, f"undecodable bytes ({exc.reason})", line + 1
                    ) from None
                if not text:
                    return
                line += 1
                value = text.strip()
                if value:
                    fields = {"email": value, "first_name": "", "last_name": ""}
                    yield line, value, None, None, fields


def read_addresses(path: Path, *, columns: ColumnMapping | None = None) -> ListReader:
    """A reader over a CSV list or a plain text file with one address per line."""
    return ListReader(path, columns=columns)
