"""``IndexedMessage.get_all`` passes over fields of another name length without lower-casing
them: exact because ``str.lower`` maps a character into ASCII only one for one."""

from __future__ import annotations

import sys
from email.message import Message

import pytest

from mailbounce.bounces._message import IndexedMessage


def test_every_character_lower_cased_into_ascii_stays_one_character() -> None:
    for code in range(sys.maxunicode + 1):
        if 0xD800 <= code <= 0xDFFF:
            continue  # lone surrogates: no case
        lowered = chr(code).lower()
        if lowered.isascii():
            assert len(lowered) == 1, hex(code)


_FIELDS = [
    ("Received", "one"),
    ("X-\u212a", "kelvin sign"),  # lower-cases to "x-k"
    ("X-K", "plain"),
    ("\u0130D", "dotted capital I"),  # lower-cases to three characters, not ASCII
    ("RECEIVED", "two"),
    ("X-Long-Name", "long"),
]


@pytest.mark.parametrize(
    "name", ["received", "Received", "x-k", "X-\u212a", "i\u0307d", "\u0130d", "x-long-name", "no"]
)
def test_get_all_as_compat32(name: str) -> None:
    plain, indexed = Message(), IndexedMessage()
    for field, value in _FIELDS:
        plain.set_raw(field, value)
        indexed.set_raw(field, value)
    assert indexed.get_all(name) == plain.get_all(name)
    assert indexed.get_all(name, "absent") == plain.get_all(name, "absent")
