"""IndexedMessage answers header questions exactly as compat32's Message, after any change."""

from __future__ import annotations

import email
import email.policy
from email.message import Message
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from mailbounce.bounces import _normalise
from mailbounce.bounces._correlation import _header_lines
from mailbounce.bounces._message import IndexedMessage
from mailbounce.bounces.base import header_items

_NAMES = st.sampled_from(["Content-Type", "content-type", "Received", "X-A", "x-a", "Subject"])
_VALUES = st.sampled_from(["text/plain", "multipart/mixed; boundary=b", "a", "message/rfc822"])
_OPS = st.lists(
    st.tuples(
        st.sampled_from(["set", "del", "raw", "add", "replace", "boundary", "default"]),
        _NAMES,
        _VALUES,
    ),
    max_size=8,
)
_RAW = b"Received: one\nReceived: two\nContent-Type: multipart/report; boundary=x\nX-A: 1\n\nbody\n"


def _apply(msg: Message, op: str, name: str, value: str) -> None:
    if op == "set":
        msg[name] = value
    elif op == "del":
        del msg[name]
    elif op == "raw":
        msg.set_raw(name, value)
    elif op == "add":
        msg.add_header(name, value)
    elif op == "replace" and name in msg:
        msg.replace_header(name, value)
    elif op == "boundary" and "Content-Type" in msg and msg.get_content_maintype() == "multipart":
        msg.set_boundary(value)
    elif op == "default":
        msg.set_default_type(value)


def _answers(msg: Message) -> list[object]:
    names = ["Content-Type", "received", "X-A", "Subject"]
    return [
        msg.get_content_type(),
        msg.get_boundary(),
        *(msg.get(name) for name in names),
        *(msg.get_all(name) for name in names),
        *(name in msg for name in names),
    ]


@given(_OPS)
def test_same_answers_after_changes(ops: list[tuple[str, str, str]]) -> None:
    plain = email.message_from_bytes(_RAW, policy=email.policy.compat32)
    indexed = email.message_from_bytes(_RAW, IndexedMessage, policy=email.policy.compat32)
    assert _answers(indexed) == _answers(plain)
    for op, name, value in ops:
        _apply(plain, op, name, value)
        _apply(indexed, op, name, value)
        assert _answers(indexed) == _answers(plain)


def _items_lines(msg: Message) -> str:
    return "".join(f"{k}: {v}\n" for k, v in msg.items())


def _assert_header_lines(raw: bytes, label: str) -> None:
    msg = email.message_from_bytes(_normalise(raw), IndexedMessage, policy=email.policy.compat32)
    for part in msg.walk():
        assert _header_lines(part) == _items_lines(part), label
        assert [(k, str(v)) for k, v in header_items(part)] == [
            (k, str(v)) for k, v in part.items()
        ], label


def test_header_lines_of_the_samples_and_corpus(corpus: Path) -> None:
    """The returned original's header text: what ``items()`` gives, on every part."""
    data = Path(__file__).resolve().parent / "data"
    files = sorted(data.rglob("*.eml"))
    files += sorted(p for p in (corpus / "bounces" / "maildir").rglob("*") if p.is_file())
    for path in files:
        _assert_header_lines(path.read_bytes(), str(path))


@given(st.lists(st.binary(max_size=40), max_size=4))
def test_header_lines_of_any_bytes(values: list[bytes]) -> None:
    """Raw 8-bit values (surrogate-escaped by the parser) go through the policy, as in items()."""
    lines = [b"X-H%d: " % index + value.replace(b"\n", b" ") for index, value in enumerate(values)]
    lines += [b"Subject: caf\xc3\xa9 =?utf-8?q?caf=C3=A9?=", b"From: a@b.example"]
    _assert_header_lines(b"\n".join(lines) + b"\n\nbody\n", repr(values))
