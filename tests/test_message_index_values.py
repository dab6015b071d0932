"""IndexedMessage's header index keeps each name's first value ready (round 4): the answers
stay compat32's for every kind of value, ASCII or not, repeated names in any case."""

from __future__ import annotations

import email
import email.policy
from email.header import Header

from hypothesis import given
from hypothesis import strategies as st

from mailbounce.bounces._correlation import _VERP_HEADERS, _tracking_tokens, _verp_tokens
from mailbounce.bounces._message import IndexedMessage

_NAMES = st.sampled_from(["To", "to", "TO", "Received", "Subject", "X-A", "Delivered-To"])
# 8-bit bytes decode with surrogates (compat32 turns those into a ``Header``); "+" for VERP.
_VALUES = st.sampled_from(
    [
        b"a",
        b"b+tok@example.org",
        "é".encode(),
        b"\xff\xfe",
        b"",
        b" x",
        "ü+1@x".encode(),
        b"<bounces+t0k@lists.example.org>",
        b"=?utf-8?q?Jo=2BJo?= <a+b@x.org>",
    ]
)


def _raw(fields: list[tuple[str, bytes]]) -> bytes:
    return b"".join(name.encode() + b": " + value + b"\n" for name, value in fields) + b"\nbody\n"


def _answers(msg: email.message.Message) -> list[object]:
    names = ["to", "TO", "Received", "subject", "x-a", "delivered-to", "Absent"]
    return [
        *(str(msg.get(name)) for name in names),
        *(type(msg.get(name, "none")).__name__ for name in names),
        *([str(v) for v in msg.get_all(name) or []] for name in names),
        *(name in msg for name in names),
    ]


@given(st.lists(st.tuples(_NAMES, _VALUES), max_size=8))
def test_first_values_are_compat32s(fields: list[tuple[str, bytes]]) -> None:
    raw = _raw(fields)
    plain = email.message_from_bytes(raw, policy=email.policy.compat32)
    indexed = email.message_from_bytes(raw, IndexedMessage, policy=email.policy.compat32)
    assert _answers(indexed) == _answers(plain)


@given(st.lists(st.tuples(_NAMES, _VALUES), max_size=8))
def test_verp_tokens_as_the_full_pass(fields: list[tuple[str, bytes]]) -> None:
    """Only values with a "+" are fetched: the tokens of fetching every VERP header."""
    indexed = email.message_from_bytes(_raw(fields), IndexedMessage, policy=email.policy.compat32)
    tokens: list[str] = []
    for name, raw in indexed.raw_items():
        if name.lower() in _VERP_HEADERS:
            tokens.extend(_verp_tokens(str(indexed.policy.header_fetch_parse(name, raw))))
    assert _tracking_tokens(indexed, [], []) == tuple(dict.fromkeys(tokens))


def test_header_objects_and_later_fields() -> None:
    header = Header("héllo", "utf-8")
    msg = IndexedMessage()
    msg["Subject"] = header
    msg.set_raw("subject", "second")
    plain = email.message.Message()
    plain["Subject"] = header
    plain.set_raw("subject", "second")
    assert msg.get("SUBJECT") is plain.get("SUBJECT")
    assert msg.get_all("subject") == plain.get_all("subject")
    del msg["subject"]
    assert msg.get("subject") is None and "Subject" not in msg
