"""How a list's header row maps to addresses, names and template variables.

Header names are compared without case, accents, spaces or punctuation (``header_key``),
so ``Adresse e-mail``, ``ADRESSE EMAIL`` and ``adresse_email`` are the same column. Every
column is also given a template-friendly slug (``Code postal`` → ``code_postal``).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from mailbounce.errors import InputError

# Header spellings, compared after ``header_key`` (no case, accents, spaces or punctuation).
COLUMN_ALIASES: dict[str, frozenset[str]] = {
    "email": frozenset(
        {
            "email",
            "mail",
            "courriel",
            "adressemail",
            "adresseemail",
            "adressecourriel",
            "adresseelectronique",
            "adressemel",
            "mel",
            "emailaddress",
            "mailaddress",
        }
    ),
    "first_name": frozenset({"prenom", "firstname", "givenname", "forename"}),
    "last_name": frozenset({"nom", "lastname", "nomdefamille", "surname", "familyname"}),
}
DELIMITERS = (";", ",", "\t")


def header_key(name: str) -> str:
    """A header without case, accents, spaces or punctuation.

    ``Adresse e-mail`` → ``adresseemail``.
    """
    return "".join(ch for ch in _ascii_fold(name).lower() if ch.isalnum())


def slug(name: str) -> str:
    """A template-friendly name for a column: ``Code postal`` → ``code_postal``."""
    text = re.sub(r"[^a-z0-9]+", "_", _ascii_fold(name).lower()).strip("_")
    if text and text[0].isdigit():
        text = f"col_{text}"
    return text


def _ascii_fold(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


@dataclass(frozen=True, slots=True)
class ColumnMapping:
    """Header names chosen by configuration; None lets the aliases decide.

    Names are matched like aliases (case, accents and punctuation do not matter).
    """

    address: str | None = None
    first_name: str | None = None
    last_name: str | None = None


@dataclass
class Layout:
    """Where things are in the rows of one file, decided from its header."""

    headers: list[str]
    address: int
    first_name: int | None
    last_name: int | None
    names: list[list[str]] = field(default_factory=list)  # field names for each column


def sniff_delimiter(header_line: str) -> str | None:
    """The delimiter occurring most in the header line (outside quotes).

    None when the line has no delimiter and looks like an address: a plain list.
    """
    outside = re.sub(r'"[^"]*"?', "", header_line)
    counts = {delimiter: outside.count(delimiter) for delimiter in DELIMITERS}
    best = max(DELIMITERS, key=lambda delimiter: counts[delimiter])
    if "@" in header_line and not _names_address_column(header_line, best):
        # A header names its columns; an "@" without any address column name means the
        # first line is already data, e.g. a typo such as "paul@laposte,net" in a plain list.
        return None
    return best if counts[best] else ","


def _names_address_column(header_line: str, delimiter: str) -> bool:
    cells = header_line.split(delimiter)
    return any(header_key(cell.strip().strip('"')) in COLUMN_ALIASES["email"] for cell in cells)


def _find_column(headers: Sequence[str], wanted: str | None, aliases: frozenset[str]) -> int | None:
    keys = [header_key(header) for header in headers]
    if wanted is not None:
        target = header_key(wanted)
        return keys.index(target) if target in keys else None
    for index, key in enumerate(keys):
        if key in aliases:
            return index
    return None


def layout_from_headers(path: Path, headers: list[str], mapping: ColumnMapping) -> Layout:
    seen = ", ".join(repr(header) for header in headers)
    address = _find_column(headers, mapping.address, COLUMN_ALIASES["email"])
    if address is None:
        wanted = (
            f"column {mapping.address!r}"
            if mapping.address
            else "e-mail address column (such as 'Adresse e-mail', 'Courriel' or 'Email')"
        )
        raise InputError(path, f"no {wanted} in the header; columns seen: {seen}", 1)
    first = _find_column(headers, mapping.first_name, COLUMN_ALIASES["first_name"])
    last = _find_column(headers, mapping.last_name, COLUMN_ALIASES["last_name"])
    for configured, index in ((mapping.first_name, first), (mapping.last_name, last)):
        if configured and index is None:
            raise InputError(
                path, f"no column {configured!r} in the header; columns seen: {seen}", 1
            )
    layout = Layout(headers, address, first, last)
    layout.names = _field_names(headers, {address: "email", first: "first_name", last: "last_name"})
    return layout


def _field_names(headers: Sequence[str], roles: dict[int | None, str]) -> list[list[str]]:
    """Each column's names: a unique slug first, then its header when no slug took it.

    The built-in names (email, first_name, last_name) are reserved for the mapped
    columns; another column whose slug would be one of them gets a suffix (``email_2``).
    """
    taken = {"email", "first_name", "last_name"}
    names: list[list[str]] = []
    for index, header in enumerate(headers):
        base = slug(header) or f"column_{index + 1}"
        name, suffix = base, 2
        while name in taken and roles.get(index) != name:
            name = f"{base}_{suffix}"
            suffix += 1
        taken.add(name)
        names.append([name])
    for column_names, header in zip(names, headers, strict=True):
        if header and header not in taken:
            taken.add(header)
            column_names.append(header)
    return names
