"""IndexedMessage answers header questions exactly as compat32's Message, after any change."""

from __future__ import annotations

import email
import email.policy
from email.message import Message

from hypothesis import given
from hypothesis import strategies as st

from mailbounce.bounces._message import IndexedMessage

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
