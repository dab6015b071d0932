"""The literal counts before ``mime_shape`` skip it only when it is within the limits (issue 3).

``_within_shape_limits`` counts ``\\n--`` only in a message longer than four bytes per allowed
part (a delimiter event is a match of four bytes or more, never overlapping another), and
``limit_exceeded`` looks for the header block's end only in a message longer than the header
limit. These cases sit on those bounds.
"""

from __future__ import annotations

from mailbounce.bounces.limits import (
    ParseLimits,
    _within_shape_limits,
    limit_exceeded,
    mime_shape,
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
    assert limit_exceeded(raw, ParseLimits(max_parts=9)) == "more than 9 MIME parts"
    assert limit_exceeded(raw, ParseLimits(max_parts=10)) is None


def test_header_block_over_the_limit_is_reported() -> None:
    header = b"X: " + b"a" * 60 + b"\n"
    raw = header * 20 + b"\nbody\n"  # the blank line found at 1,279
    assert limit_exceeded(raw, ParseLimits(max_header_bytes=1278)) is not None
    assert limit_exceeded(raw, ParseLimits(max_header_bytes=1279)) is None
    # No blank line: the whole message is its header block.
    assert limit_exceeded(header * 20, ParseLimits(max_header_bytes=1279)) is not None
    # A message no longer than the limit cannot hold a longer block.
    assert limit_exceeded(raw, ParseLimits(max_header_bytes=len(raw))) is None
