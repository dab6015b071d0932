"""Property tests: ``analyse_message`` never raises anything but ``UnparseableMessage``.

Hypothesis builds structured MIME trees (random nesting of multipart, message/rfc822 and
delivery-status parts), then damages them: long and 8-bit headers, truncated or missing
boundaries, NUL bytes, unknown charsets, broken base64 and quoted-printable, mixed line
endings. Whatever comes out, the analysis returns or quarantines; it never crashes, and a
quarantine reason is never an internal detector error.
"""

from __future__ import annotations

import re
from email.message import Message

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mailbounce.bounces import (
    Analysis,
    ParseLimits,
    UnparseableMessage,
    Verdict,
    analyse_message,
)
from mailbounce.bounces._fastparse import parse_message
from mailbounce.bounces.limits import _within_shape_limits, mime_shape

_NOT_IN_ADDRESS = re.compile(r"[\x00-\x20<>]")
_HEADER_NAMES = st.sampled_from(
    [
        b"Subject",
        b"From",
        b"To",
        b"Message-ID",
        b"Return-Path",
        b"X-Failed-Recipients",
        b"Auto-Submitted",
        b"Content-Transfer-Encoding",
        b"X-Mailbounce-Token",
        b"Final-Recipient",
        b"Status",
        b"Diagnostic-Code",
        b"Action",
    ]
)
_VALUES = st.one_of(
    st.binary(max_size=120),
    st.sampled_from(
        [
            b"MAILER-DAEMON@example.org",
            b"Undelivered Mail Returned to Sender",
            b"rfc822; jo@example.org",
            b"smtp; 550 5.1.1 <jo@example.org>: User unknown",
            b"5.1.1",
            b"failed",
            b"delayed",
            b"auto-replied",
            b"base64",
            b"quoted-printable",
            b"=?utf-8?b?w6nDqQ?=",
            b"=?x-unknown?q?=FF=FE?=",
            b"bounces+abc@example.org",
            b"\xe9t\xe9 \xff\x00",
        ]
    ),
)
_CONTENT_TYPES = st.sampled_from(
    [
        b"text/plain",
        b"text/plain; charset=x-unknown",
        b"text/plain; charset=utf-8",
        b"text/html",
        b"message/delivery-status",
        b"message/feedback-report",
        b"text/rfc822-headers",
        b"application/octet-stream",
    ]
)
_BODIES = st.one_of(
    st.binary(max_size=300),
    st.sampled_from(
        [
            b"Final-Recipient: rfc822; jo@example.org\nAction: failed\nStatus: 5.1.1\n"
            b"Diagnostic-Code: smtp; 550 5.1.1 unknown\n",
            b"Reporting-MTA: dns; mx.example.org\n\nFinal-Recipient: rfc822;\nStatus: 9.9.9\n",
            b"Feedback-Type: abuse\nOriginal-Rcpt-To: <jo@example.org>\n",
            b"<jo@example.org>: host mx said: 550 5.1.1 no such user\n",
            b"=E9=\n=ZZ\x00\x00",
            b"!!!not base64!!!",
            b"Diagnostic-Code: smtp; 550\n  " + b"x" * 2000,
        ]
    ),
)


def _headers(draw: st.DrawFn) -> bytes:
    pairs = draw(st.lists(st.tuples(_HEADER_NAMES, _VALUES), max_size=6))
    lines = [name + b": " + value.replace(b"\n", b" ") for name, value in pairs]
    if draw(st.booleans()):
        lines.append(b"X-Long: " + b"a" * draw(st.integers(0, 5000)))
    if draw(st.booleans()):
        lines.append(b"X-Folded: start\n" + b"\n".join([b"  more"] * draw(st.integers(0, 50))))
    return b"\n".join(lines)


@st.composite
def mime_tree(draw: st.DrawFn, depth: int = 0) -> bytes:
    """One entity: headers, then a leaf body or a multipart / message/rfc822 of children."""
    headers = _headers(draw)
    kind = draw(st.sampled_from(["leaf", "multipart", "message"] if depth < 4 else ["leaf"]))
    if kind == "leaf":
        return headers + b"\nContent-Type: " + draw(_CONTENT_TYPES) + b"\n\n" + draw(_BODIES)
    if kind == "message":
        inner = draw(mime_tree(depth + 1))
        return headers + b"\nContent-Type: message/rfc822\n\n" + inner
    boundary = draw(st.sampled_from([b"b1", b"=_x", b"", b'"q q"', b"b1"])) + b"%d" % depth
    subtype = draw(st.sampled_from([b"mixed", b"report; report-type=delivery-status", b"report"]))
    children = draw(st.lists(mime_tree(depth + 1), max_size=3))
    body = b"".join(b"\n--" + boundary + b"\n" + child for child in children)
    if draw(st.booleans()):
        body += b"\n--" + boundary + b"--\n"  # else: the closing delimiter is missing
    if children and draw(st.booleans()):
        body = body[: draw(st.integers(0, len(body)))]  # truncated anywhere
    return (
        headers
        + b"\nContent-Type: multipart/"
        + subtype
        + b'; boundary="'
        + boundary.strip(b'"')
        + b'"\n\n'
        + body
    )


def _endings(raw: bytes, style: int) -> bytes:
    if style == 1:
        return raw.replace(b"\n", b"\r\n")
    if style == 2:
        return raw.replace(b"\n", b"\r")
    return raw


def _check(raw: bytes, limits: ParseLimits | None = None) -> Analysis | None:
    try:
        analysis = analyse_message(raw, limits=limits) if limits else analyse_message(raw)
    except UnparseableMessage as exc:
        assert "internal error" not in exc.reason, exc.reason
        return None
    assert isinstance(analysis.verdict, Verdict)
    assert (analysis.verdict is Verdict.BOUNCE) == bool(analysis.results)
    for facts, _ in analysis.results:
        assert not _NOT_IN_ADDRESS.search(facts.recipient), facts.recipient
    return analysis


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mime_tree(), st.integers(0, 2))
def test_structured_trees_never_crash(raw: bytes, style: int) -> None:
    _check(_endings(raw, style))


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=2000))
def test_arbitrary_bytes_never_crash(raw: bytes) -> None:
    _check(raw)


@settings(max_examples=100, deadline=None)
@given(mime_tree(), st.integers(0, 2))
def test_line_endings_do_not_change_the_analysis(raw: bytes, style: int) -> None:
    lf = _check(raw.replace(b"\r", b"\n"))
    other = _check(_endings(raw.replace(b"\r", b"\n"), style))
    if lf is None or other is None:
        assert lf is other is None
        return
    assert [f.recipient for f, _ in other.results] == [f.recipient for f, _ in lf.results]
    assert [c for _, c in other.results] == [c for _, c in lf.results]


def _nested(depth: int) -> bytes:
    raw = b"Content-Type: text/plain\n\nhello\n"
    for level in range(depth):
        boundary = b"lvl%d" % level
        raw = (
            b'Content-Type: multipart/mixed; boundary="'
            + boundary
            + b'"\n\n--'
            + boundary
            + b"\n"
            + raw
            + b"\n--"
            + boundary
            + b"--\n"
        )
    return b"From: MAILER-DAEMON@example.org\n" + raw


def test_depth_limit_quarantines_deep_messages() -> None:
    limits = ParseLimits(max_depth=10)
    assert _check(_nested(8), limits) is not None
    with pytest.raises(UnparseableMessage, match="depth"):
        analyse_message(_nested(200), limits=limits)
    with pytest.raises(UnparseableMessage, match="depth"):
        analyse_message(_nested(5000))  # far deeper than Python's recursion allows


def test_size_part_and_header_limits() -> None:
    with pytest.raises(UnparseableMessage, match="bytes"):
        analyse_message(b"x" * 2000, limits=ParseLimits(max_message_bytes=1000))
    with pytest.raises(UnparseableMessage, match="header"):
        analyse_message(
            b"X-A: " + b"a" * 3000 + b"\n\nbody", limits=ParseLimits(max_header_bytes=1000)
        )
    many = b'Content-Type: multipart/mixed; boundary="p"\n\n' + b"--p\n\nx\n" * 50 + b"--p--\n"
    with pytest.raises(UnparseableMessage, match="parts"):
        analyse_message(many, limits=ParseLimits(max_parts=20))
    assert _check(many) is not None


def test_nul_bytes_and_bad_charsets() -> None:
    raw = (
        b"From: MAILER-DAEMON@example.org\nSubject: =?bogus?b?////?=\n"
        b"Content-Type: multipart/report; report-type=delivery-status; boundary=z\n\n"
        b"--z\nContent-Type: text/plain; charset=no-such-charset\n\n\x00\xff\xfe oops\n"
        b"--z\nContent-Type: message/delivery-status\nContent-Transfer-Encoding: base64\n\n"
        b"%%%%\n--z\nContent-Type: message/delivery-status\n\n"
        b"Final-Recipient: rfc822; jo@example.org\x00\nAction: failed\nStatus: 5.1.1\n--z--\n"
    )
    analysis = _check(raw)
    assert analysis is not None
    assert [f.recipient for f, _ in analysis.results] == ["jo@example.org"]


@pytest.mark.parametrize(
    "body",
    [
        b"a" * 300_000,  # one long run of local-part characters, no "@"
        b"ip " * 100_000,  # many starts for a phrase with a gap
        b"a@" * 100_000,
        (b"<" + b"a" * 50_000 + b"@example.org> 550 5.1.1 user unknown\n") * 4,
    ],
)
def test_hostile_long_lines_are_read_in_one_pass(body: bytes) -> None:
    # Scanned linearly (look-behind anchored address patterns, bounded gaps): a quadratic
    # pattern would spend hours here and trip the suite's timeout.
    raw = (
        b"From: MAILER-DAEMON@example.org\nSubject: Undelivered Mail Returned to Sender\n"
        b"Content-Type: multipart/report; report-type=delivery-status; boundary=z\n\n"
        b"--z\nContent-Type: text/plain\n\n" + body + b"\n--z--\n"
    )
    _check(raw)


def test_mime_shape_follows_boundaries_and_messages() -> None:
    raw = (
        b'Content-Type: multipart/mixed; boundary="outer"\n\n--outer\nContent-Type: text/plain\n\n'
        b"hi\n--outer\nContent-Type: message/rfc822\n\n"
        b'Content-Type: multipart/report; boundary="inner"\n\n--inner\n\nx\n--inner\n\ny\n'
        b"--inner--\n--outer--\n-- not a delimiter\n"
    )
    # outer multipart, the message/rfc822 level, the inner multipart; 2 + 2 parts.
    assert mime_shape(raw) == (3, 4)
    assert mime_shape(b"no MIME at all\n--\n") == (0, 0)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mime_tree(), st.integers(0, 4), st.integers(0, 6))
def test_counting_never_hides_a_shape_over_the_limits(raw: bytes, depth: int, parts: int) -> None:
    """The literal counts that skip ``mime_shape`` say "within" only when it is within."""
    limits = ParseLimits(max_depth=depth, max_parts=parts)
    if _within_shape_limits(raw, limits):
        found_depth, found_parts = mime_shape(raw, limits)
        assert found_depth <= depth and found_parts <= parts


def test_counting_skips_only_within_limits() -> None:
    raw = _nested(5)
    assert not _within_shape_limits(raw, ParseLimits(max_depth=3))
    assert _within_shape_limits(raw, ParseLimits(max_depth=40))


def test_broken_rfc2231_parameters_quarantine_instead_of_crashing() -> None:
    # ``boundary*0=; boundary*``: the standard library's RFC 2231 decoding raises TypeError
    # (it sorts None with 0) while splitting the parts: the message is quarantined.
    raw = b"Content-Type: multipart/mixed; boundary*0=; boundary*\n\n--x\n\nhi\n--x--\n"
    with pytest.raises(UnparseableMessage, match="MIME structure: TypeError"):
        analyse_message(raw)


def test_broken_rfc2231_charset_of_a_part_is_read_best_effort() -> None:
    # The same breakage in a part's charset, read by detectors after the parse.
    raw = (
        b"From: MAILER-DAEMON@example.org\nSubject: Undelivered Mail Returned to Sender\n"
        b'Content-Type: multipart/mixed; boundary="p"\n\n--p\n'
        b"Content-Type: text/plain; charset*0=; charset*\n\n"
        b"<jean@example.fr>: host mx.example.fr said: 550 5.1.1 unknown user\n--p--\n"
    )
    try:
        analysis = analyse_message(raw)
    except UnparseableMessage as exc:
        assert "internal error" not in exc.reason
    else:
        assert analysis.verdict


@pytest.mark.parametrize("param", ["charset", "report-type", "boundary", "name", "format"])
@pytest.mark.parametrize(
    "where", ["top", "part", "report"], ids=["top-level", "text part", "report part"]
)
def test_broken_rfc2231_parameters_never_crash(param: str, where: str) -> None:
    broken = f"{param}*0=; {param}*".encode()
    body = b"<jean@example.fr>: host mx.example.fr said: 550 5.1.1 unknown user\n"
    head = b"From: MAILER-DAEMON@example.org\nSubject: Undelivered Mail Returned to Sender\n"
    if where == "top":
        raw = head + b"Content-Type: text/plain; " + broken + b"\n\n" + body
    else:
        kind = b"text/plain" if where == "part" else b"message/delivery-status"
        raw = (
            head + b'Content-Type: multipart/report; report-type=delivery-status; boundary="p"\n\n'
            b"--p\nContent-Type: " + kind + b"; " + broken + b"\n\n" + body + b"--p--\n"
        )
    try:
        analyse_message(raw)
    except UnparseableMessage as exc:
        assert "internal error" not in exc.reason


def _tree_shape(msg: Message) -> tuple[int, int]:
    """(the deepest part's depth, the parts below the top) of a parsed tree: what the fast
    splitter's caps count (a part's depth: the multipart and ``message/*`` parts around it)."""
    deepest = parts = 0
    stack = [(msg, 0)]
    while stack:
        part, depth = stack.pop()
        deepest = max(deepest, depth)
        payload = part.get_payload()
        if isinstance(payload, list):
            parts += len(payload)
            stack.extend((sub, depth + 1) for sub in payload)
    return deepest, parts


_UNCAPPED = ParseLimits(max_depth=40, max_parts=10**9)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mime_tree(), st.integers(0, 4), st.integers(0, 12))
def test_the_fast_splitters_caps_are_exact(raw: bytes, depth: int, parts: int) -> None:
    """Under caps, the splitter builds the very tree it builds without them, or quarantines
    it exactly when that tree is over a cap, with that cap's reason."""
    whole = parse_message(raw, _UNCAPPED)
    limits = ParseLimits(max_depth=depth, max_parts=parts)
    try:
        capped = parse_message(raw, limits)
    except UnparseableMessage as exc:
        # A message the splitter declines may meet a cap before the place it declines at.
        if whole is not None:
            found_depth, found_parts = _tree_shape(whole)
            if exc.reason == f"MIME nesting depth over the limit of {depth}":
                assert found_depth > depth
            else:
                assert exc.reason == f"more than {parts} MIME parts"
                assert found_parts > parts
        return
    if whole is None:
        assert capped is None
        return
    assert capped is not None
    found_depth, found_parts = _tree_shape(whole)
    assert found_depth <= depth and found_parts <= parts
    assert [p.items() for p in capped.walk()] == [p.items() for p in whole.walk()]
