"""The line ending a delimiter takes is left out of the innermost last message (issue 3).

RFC 2046 5.1.1: the line ending before a delimiter line belongs to the delimiter. The
feedparser takes it from the innermost last message before the delimiter (its ``_last``): the
epilogue of a multipart, the text of a leaf, the body of a status block's last group. The
splitter slices those texts without it in the first place; each case here puts the innermost
last message of a kind before a delimiter and compares the whole tree with the feedparser's.
"""

from __future__ import annotations

import email
import email.policy
from typing import Any

import pytest

from mailbounce.bounces._fastparse import parse_message
from mailbounce.bounces._message import IndexedMessage


def _tree(msg: Any) -> tuple[Any, ...]:
    payload = msg._payload
    return (
        list(msg._headers),
        msg._unixfrom,
        msg._default_type,
        msg.preamble,
        msg.epilogue,
        [type(defect) for defect in msg.defects],
        msg.get_content_type(),
        [_tree(part) for part in payload] if isinstance(payload, list) else payload,
    )


def _outer(inner: bytes, after: bytes = b"--o--\n") -> bytes:
    """``inner`` as the first part of an outer multipart, a delimiter right after it."""
    return b'Content-Type: multipart/mixed; boundary="o"\n\n--o\n' + inner + after


CASES = {
    "leaf text": _outer(b"\ntext\n\n"),
    "leaf text without a line ending left": _outer(b"\ntext\n"),
    "empty leaf": _outer(b"\n"),
    "leaf with headers only": _outer(b"X: 1\n"),
    "inner multipart epilogue": _outer(
        b'Content-Type: multipart/alternative; boundary="i"\n\n--i\n\na\n--i--\nepilogue\n\n'
    ),
    "inner multipart empty epilogue": _outer(
        b'Content-Type: multipart/alternative; boundary="i"\n\n--i\n\na\n--i--\n'
    ),
    "inner multipart without close delimiter": _outer(
        b'Content-Type: multipart/alternative; boundary="i"\n\n--i\n\na\n\n'
    ),
    "inner multipart without start delimiter": _outer(
        b'Content-Type: multipart/alternative; boundary="i"\n\nno delimiter\n'
    ),
    "inner multipart without boundary": _outer(
        b"Content-Type: multipart/alternative\n\n--i\n\na\n\n"
    ),
    "returned message": _outer(b"Content-Type: message/rfc822\n\nSubject: s\n\nbody\n\n"),
    "returned message holding a multipart": _outer(
        b"Content-Type: message/rfc822\n\nSubject: s\n"
        b'Content-Type: multipart/mixed; boundary="m"\n\n--m\n\nbody\n--m--\nend\n\n'
    ),
    "status block groups": _outer(
        b"Content-Type: message/delivery-status\n\nReporting-MTA: dns; x\n\n"
        b"Final-Recipient: rfc822; a@b\nStatus: 5.1.1\n\n"
    ),
    "status block ending in a body line": _outer(
        b"Content-Type: message/delivery-status\n\nReporting-MTA: dns; x\n\n"
        b"Final-Recipient: rfc822; a@b\nnot a field\n\n"
    ),
    "status block ending in a body line, no blank line": _outer(
        b"Content-Type: message/delivery-status\n\nReporting-MTA: dns; x\n\n"
        b"Final-Recipient: rfc822; a@b\nnot a field\n"
    ),
    "status block body line then a group": _outer(
        b"Content-Type: message/delivery-status\n\nReporting-MTA: dns; x\nnot a field\n\n"
        b"Final-Recipient: rfc822; a@b\n\n"
    ),
    "last part of a truncated multipart": _outer(b"\ntext\n\n", after=b""),
    "delimiter right after the headers": b'Content-Type: multipart/mixed; boundary="o"\n\n'
    b"--o\n\none\n--o--\n",
    "delimiter right after a delimiter's line": _outer(b"\none\n", after=b"--o\n\ntwo\n--o--\n"),
    "delimiter ending the text": b'Content-Type: multipart/mixed; boundary="o"\n\n--o',
}


@pytest.mark.parametrize("raw", CASES.values(), ids=CASES.keys())
def test_line_ending_before_a_delimiter_is_the_feedparsers(raw: bytes) -> None:
    fast = parse_message(raw)
    assert fast is not None  # each case is one the splitter reproduces
    reference = email.message_from_bytes(raw, IndexedMessage, policy=email.policy.compat32)
    assert _tree(fast) == _tree(reference)
