"""``base.content_charset`` reads a plain Content-Type directly: the standard library's answer.

Data-driven over every corpus and tests/data part, and hypothesis over Content-Type values
made of the characters that matter to the parameter parser (quotes, ``;``, ``=``, case,
blanks, folds, RFC 2231 stars).
"""

from __future__ import annotations

import email
import email.policy
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from mailbounce.bounces import _normalise
from mailbounce.bounces._message import IndexedMessage
from mailbounce.bounces.base import content_charset

DATA = Path(__file__).resolve().parent / "data"


def _parts(raw: bytes) -> list[email.message.Message]:
    msg = email.message_from_bytes(_normalise(raw), IndexedMessage, policy=email.policy.compat32)
    return list(msg.walk())


def _assert_same(raw: bytes, label: str) -> None:
    for part in _parts(raw):
        assert content_charset(part) == part.get_content_charset(), label


def test_charsets_of_the_project_samples() -> None:
    for path in sorted(DATA.rglob("*.eml")):
        _assert_same(path.read_bytes(), str(path))


def test_charsets_of_the_corpus(corpus: Path) -> None:
    for path in sorted(p for p in (corpus / "bounces" / "maildir").rglob("*") if p.is_file()):
        _assert_same(path.read_bytes(), path.name)


_PIECES = st.sampled_from(
    [
        "text/plain",
        "TEXT/Plain",
        ";",
        " ",
        "\n\t",
        "charset",
        "CharSet",
        "charset*",
        "=",
        '"',
        "utf-8",
        "UTF-8",
        "iso-8859-1",
        "us-ascii''",
        "'",
        "\\",
        "format=flowed",
        "x",
        "é",
        "*0",
    ]
)


@settings(max_examples=400, deadline=None)
@given(st.lists(_PIECES, max_size=10).map("".join))
def test_any_content_type(value: str) -> None:
    raw = f"Content-Type: {value}\nSubject: x\n\nbody\n".encode()
    _assert_same(raw, value)


def test_plain_values() -> None:
    for value, expected in [
        ("text/plain; charset=UTF-8", "utf-8"),
        ('text/plain; charset="ISO-8859-1"', "iso-8859-1"),
        ('text/plain; charset="utf-8', '"utf-8'),  # one quote: kept, as the library keeps it
        ("text/plain", None),
    ]:
        part = _parts(f"Content-Type: {value}\n\nx\n".encode())[0]
        assert content_charset(part) == expected == part.get_content_charset(), value


def test_values_without_parameters() -> None:
    """A type alone, or no Content-Type at all, has no charset; the bare word "charset" is
    a parameter to the library (an empty one)."""
    for head in ["Content-Type: text/rfc822-headers\n", "Content-Type:  CharSet \n", ""]:
        _assert_same(f"{head}Subject: x\n\nbody\n".encode(), head)
