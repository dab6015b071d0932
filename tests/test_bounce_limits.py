"""The safety limits: counted by the fast splitter, or scanned on the raw bytes (issue 3).

The fast splitter (``_fastparse.parse_message``) counts the MIME depth and the parts as it
builds the tree and stops at the first part past a cap, before reading it; a message it
declines is held to the same caps by the raw scan (``shape_exceeded``: the literal counts of
``_within_shape_limits``, then ``mime_shape``) before the feedparser reads it. Both give the
same quarantine reasons. ``_within_shape_limits`` counts ``\\n--`` only in a message longer than
four bytes per allowed part (a delimiter event is a match of four bytes or more, never
overlapping another), and ``before_parse_exceeded`` looks for the header block's end only in
a message longer than the header limit. These cases sit on those bounds.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from mailbounce.bounces import UnparseableMessage, _fastparse, analyse_message
from mailbounce.bounces._fastparse import parse_message
from mailbounce.bounces._message import IndexedMessage
from mailbounce.bounces.limits import (
    ParseLimits,
    _within_shape_limits,
    before_parse_exceeded,
    mime_shape,
    shape_exceeded,
)

_DECLARED = b'Content-Type: multipart/mixed; boundary="x"\n\n'


def test_delimiters_packed_four_bytes_apart_are_counted() -> None:
    # "\n--x" repeated: every match is a part of the declared boundary "x".
    raw = _DECLARED + b"\n--x" * 10
    assert mime_shape(raw)[1] == 10
    for max_parts in range(12):
        limits = ParseLimits(max_parts=max_parts)
        # Ten "\n--" in 86 bytes: counted against any limit under 21 parts.
        assert _within_shape_limits(raw, limits) is (max_parts >= 10)
    # Without a declaration the delimiters are text: the message is longer than four bytes
    # per part allowed, so they are counted (an upper bound), and mime_shape finds none.
    bare = b"\n--x" * 10
    assert not _within_shape_limits(bare, ParseLimits(max_parts=9))
    assert mime_shape(bare) == (0, 0)
    assert _within_shape_limits(bare, ParseLimits(max_parts=10))


def test_parts_over_the_limit_are_reported() -> None:
    raw = _DECLARED + b"\n--x" * 10
    assert shape_exceeded(raw, ParseLimits(max_parts=9)) == "more than 9 MIME parts"
    assert shape_exceeded(raw, ParseLimits(max_parts=10)) is None


def test_header_block_over_the_limit_is_reported() -> None:
    header = b"X: " + b"a" * 60 + b"\n"
    raw = header * 20 + b"\nbody\n"  # the blank line found at 1,279
    assert before_parse_exceeded(raw, ParseLimits(max_header_bytes=1278)) is not None
    assert before_parse_exceeded(raw, ParseLimits(max_header_bytes=1279)) is None
    # No blank line: the whole message is its header block.
    assert before_parse_exceeded(header * 20, ParseLimits(max_header_bytes=1279)) is not None
    # A message no longer than the limit cannot hold a longer block.
    assert before_parse_exceeded(raw, ParseLimits(max_header_bytes=len(raw))) is None


def _reason(call: Callable[..., object], *args: object, **kwargs: object) -> str:
    """The quarantine reason ``call`` raises."""
    with pytest.raises(UnparseableMessage) as caught:
        call(*args, **kwargs)
    return caught.value.reason


def _multipart(count: int, boundary: bytes = b"p") -> bytes:
    """A multipart of ``count`` text parts the fast splitter reads."""
    return (
        b'Content-Type: multipart/mixed; boundary="'
        + boundary
        + b'"\n\n'
        + (b"--" + boundary + b"\nContent-Type: text/plain\n\nx\n") * count
        + b"--"
        + boundary
        + b"--\n"
    )


def _nested(depth: int, leaf: bytes = b"Content-Type: text/plain\n\nhello\n") -> bytes:
    """``depth`` multiparts one inside the other around ``leaf`` (its depth: ``depth``)."""
    raw = leaf
    for level in range(depth):
        raw = b"Content-Type: multipart/mixed; boundary=l%d\n\n--l%d\n%s\n--l%d--\n" % (
            (level, level, raw, level)
        )
    return raw


def _declined(raw: bytes) -> bytes:
    """``raw`` (a multipart of boundary ``p`` or ``l<n>``) with its first delimiter doubled:
    the feedparser merges them, the fast splitter declines the message at once."""
    for marker in (b"\n--p\n", b"\n--l%d\n" % (raw.count(b"boundary=") - 1)):
        if marker in raw:
            return raw.replace(marker, marker + marker[1:], 1)
    raise AssertionError("no delimiter to double")


def test_the_fast_path_counts_parts_exactly() -> None:
    raw = _multipart(30)
    assert parse_message(raw, ParseLimits(max_parts=30)) is not None
    assert _reason(parse_message, raw, ParseLimits(max_parts=29)) == "more than 29 MIME parts"
    assert (
        _reason(analyse_message, raw, limits=ParseLimits(max_parts=29)) == "more than 29 MIME parts"
    )


def test_the_fast_path_counts_depth_exactly() -> None:
    raw = _nested(12)
    assert parse_message(raw, ParseLimits(max_depth=12)) is not None
    assert (
        _reason(parse_message, raw, ParseLimits(max_depth=11))
        == "MIME nesting depth over the limit of 11"
    )
    assert (
        _reason(analyse_message, raw, limits=ParseLimits(max_depth=11))
        == "MIME nesting depth over the limit of 11"
    )


def test_delivery_status_groups_are_parts_one_level_down() -> None:
    groups = b"Reporting-MTA: dns; mx\n" + b"\nFinal-Recipient: rfc822; a@b\nStatus: 5.1.1\n" * 9
    raw = _nested(2, b"Content-Type: message/delivery-status\n\n" + groups)
    # Two multiparts, the status part inside at depth 2, its ten groups at depth 3; one
    # part in each multipart and ten groups.
    assert parse_message(raw, ParseLimits(max_depth=3, max_parts=12)) is not None
    with pytest.raises(UnparseableMessage, match="depth over the limit of 2"):
        parse_message(raw, ParseLimits(max_depth=2))
    with pytest.raises(UnparseableMessage, match="more than 11 MIME parts"):
        parse_message(raw, ParseLimits(max_parts=11))


def test_a_message_the_fast_path_declines_is_held_to_the_caps_by_the_raw_scan() -> None:
    many = _declined(_multipart(30))
    deep = _declined(_nested(12))
    roomy = ParseLimits(max_depth=40, max_parts=10**6)
    assert parse_message(many, roomy) is None and parse_message(deep, roomy) is None
    assert (
        _reason(analyse_message, many, limits=ParseLimits(max_parts=20))
        == "more than 20 MIME parts"
    )
    assert (
        _reason(analyse_message, deep, limits=ParseLimits(max_depth=10))
        == "MIME nesting depth over the limit of 10"
    )
    # Within the caps the feedparser reads them.
    analyse_message(many, limits=roomy)
    analyse_message(deep, limits=roomy)


def test_a_huge_part_count_builds_no_part_past_the_cap(monkeypatch: pytest.MonkeyPatch) -> None:
    built: list[IndexedMessage] = []

    class Counted(IndexedMessage):
        def __init__(self) -> None:
            super().__init__()
            built.append(self)

    monkeypatch.setattr(_fastparse, "IndexedMessage", Counted)
    limits = ParseLimits(max_parts=50)
    with pytest.raises(UnparseableMessage, match="more than 50 MIME parts"):
        parse_message(_multipart(100_000), limits)
    assert len(built) == 51  # the top and 50 parts
    built.clear()
    groups = b"Content-Type: message/delivery-status\n\n" + b"Status: 5.0.0\n\n" * 100_000
    with pytest.raises(UnparseableMessage, match="more than 50 MIME parts"):
        parse_message(groups, limits)
    assert len(built) == 51


def test_a_deep_message_recurses_no_deeper_than_the_cap(monkeypatch: pytest.MonkeyPatch) -> None:
    depths: list[int] = []
    parse_part = _fastparse._parse_part

    def recorded(*args: object) -> IndexedMessage:
        depths.append(args[4])  # type: ignore[arg-type]
        return parse_part(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(_fastparse, "_parse_part", recorded)
    with pytest.raises(UnparseableMessage, match="depth over the limit of 24"):
        parse_message(_nested(5000))  # far deeper than Python's recursion allows
    assert max(depths) == 25  # the first part past the cap, stopped before it is read
    assert len(depths) == 26
