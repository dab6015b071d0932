"""The fast MIME splitter builds the feedparser's very tree, or declines (issue 3, "Benchmark").

``parse_message`` must give, for every message it takes, a tree equal part by part to what
``email.message_from_bytes(raw, IndexedMessage, policy=compat32)`` builds: headers, payload,
preamble, epilogue, default type, envelope line, charset and defect classes. Checked on every
file of the shared corpus (its ``dos/`` and ``mac/`` copies after the same LF normalisation as
``analyse_message``), on the project's own samples, and on hypothesis-built MIME trees with the
damage real bounces show (truncation, missing or doubled delimiters, boundaries that are
prefixes of each other, header-shaped junk, 8-bit bytes, NULs).
"""

from __future__ import annotations

import email
import email.policy
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mailbounce.bounces import _normalise
from mailbounce.bounces._contenttype import _PLAIN_PARAMETERS, _boundary, _content_type
from mailbounce.bounces._fastparse import parse_message
from mailbounce.bounces._message import IndexedMessage
from mailbounce.bounces.base import Mail, walk_parts
from mailbounce.bounces.limits import ParseLimits, UnparseableMessage

DATA = Path(__file__).resolve().parent / "data"


def feedparser(raw: bytes) -> IndexedMessage:
    msg = email.message_from_bytes(raw, IndexedMessage, policy=email.policy.compat32)
    assert isinstance(msg, IndexedMessage)
    return msg


def tree(msg: Any) -> tuple[Any, ...]:
    """Everything the parse decides about ``msg`` and its parts, comparable with ``==``."""
    payload = msg._payload
    return (
        type(msg),
        msg.policy,
        list(msg._headers),
        msg._unixfrom,
        msg._default_type,
        msg._charset,
        msg.preamble,
        msg.epilogue,
        [type(defect) for defect in msg.defects],
        msg.is_multipart(),
        msg.get_content_type(),
        [tree(part) for part in payload] if isinstance(payload, list) else payload,
    )


def same_or_declined(raw: bytes) -> bool:
    """True when the fast path took ``raw`` (and then built the feedparser's tree)."""
    fast = parse_message(raw)
    if fast is None:
        return False
    assert tree(fast) == tree(feedparser(raw))
    # The parts the split listed as it went are ``walk()``'s, with their types, the top
    # itself left out of the list (no reference cycle through it).
    walked = [(id(part), part.get_content_type()) for part in walk_parts(fast)]
    assert [(id(part), kind) for part, kind in Mail(fast).parts()] == walked
    assert all(part is not fast for part, _ in fast._parts_below)
    return True


def test_tree_compares_what_the_parse_decides() -> None:
    """The comparison itself sees a changed payload, epilogue or header."""
    raw = b'Content-Type: multipart/mixed; boundary="b"\n\n--b\nX: 1\n\nhi\n--b--\nend\n'
    reference = tree(feedparser(raw))
    for change in (b"hi\n", b"end\n", b"X: 1\n"):
        changed = raw.replace(change, change[:-1] + b"!\n")
        assert tree(feedparser(changed)) != reference


def _corpus_files(corpus: Path) -> list[Path]:
    maildir = corpus / "bounces" / "maildir"
    return sorted(p for p in maildir.rglob("*") if p.is_file())


def test_every_corpus_file_parses_as_the_feedparser(corpus: Path) -> None:
    files = _corpus_files(corpus)
    assert files
    lf_files = [p for p in files if p.parent.name in ("bsd", "not")]
    taken = {p for p in files if same_or_declined(_normalise(p.read_bytes()))}
    # The ordinary bounces take the fast path (measured: all 363 files).
    assert len(taken & set(lf_files)) >= 0.9 * len(lf_files)
    # A CRLF or CR copy normalised takes the path its LF original takes.
    for path in files:
        if path.parent.name in ("dos", "mac"):
            original = path.parent.parent / "bsd" / path.name
            if original.is_file():
                assert (path in taken) == (original in taken), path


def test_raw_cr_line_endings_are_declined(corpus: Path) -> None:
    for path in _corpus_files(corpus):
        if path.parent.name in ("dos", "mac"):
            assert parse_message(path.read_bytes()) is None


def test_every_project_sample_parses_as_the_feedparser() -> None:
    samples = sorted((DATA / "bounces").rglob("*.eml")) + sorted(
        (DATA / "parse_bounces").rglob("*.eml")
    )
    assert samples
    taken = sum(same_or_declined(_normalise(p.read_bytes())) for p in samples)
    assert taken >= 0.9 * len(samples)


# Hand-written cases: (raw message, whether the fast path takes it). Each either reproduces a
# feedparser rule or is one the splitter must leave to the feedparser.
CASES = [
    (b"Subject: x\n\nbody\n", True),
    (b"Subject: x", True),  # headers only, no newline at the end
    (b"Subject: x\n", True),
    (b"", True),
    (b"\nbody without headers\n", True),
    (b"From sender@example.org Sat Nov 28 09:00:00 2026\nSubject: x\n\nb\n", True),
    (b"Subject: x\nFrom someone\n\nb\n", False),  # envelope line ending the headers
    # An envelope line out of place among fields: dropped, with a defect (its text).
    (b"Subject: x\nFrom someone\nTo: y\n\nb\n", True),
    (b"From a\nSubject: x\nFrom b\nTo: y\nFrom c\nX: 1\n  fold\nnot a header\nb\n", True),
    (b"Subject: x\nFrom someone\nTo: y", True),
    (b"Content-Type: multipart/mixed; boundary=b\n\n--b\nX: 1\nFrom a\nY: 2\n\nz\n--b--\n", True),
    (b"Subject: x\nFrom someone\n fold\nTo: y\n\nb\n", False),  # then a fold
    (b"Subject: x\nFrom someone\nFrom other\nTo: y\n\nb\n", False),
    (b"Subject: x\nFrom someone\nTo: y\n:no name\n\nb\n", False),
    (b"Content-Type: message/delivery-status\n\nX: 1\nFrom a\nY: 2\n\nZ: 3\n", False),
    (b" folded first\nSubject: x\n\nb\n", False),
    (b":no name\n\nb\n", False),
    (b"Subject: x\nnot a header\n\nb\n", True),  # the body starts there, with a defect
    (b"Subject : x\n\nb\n", True),
    (b"Subject: x\n  folded\n\tagain\n \nX:\n  only fold\n\nb\n", True),
    (b"Subject:\t \n\nb\n", True),
    (b"Subject: a\r\nX: b\r\n\r\nbody\r\n", False),
    (b"Subject: \xe9\x00t\xe9\n\n\xff\x00\n", True),
    (
        b'Content-Type: multipart/mixed; boundary="b"\n\npre\n\n--b\n\none\n--b\nX: 2\n\ntwo\n\n'
        b"--b--\n\nepi\n",
        True,
    ),
    (b'Content-Type: multipart/mixed; boundary="b"\n\n--b\n\none\n--b--', True),
    (b'Content-Type: multipart/mixed; boundary="b"\n\n--b\n\none\n--b--  \t\n', True),
    (b'Content-Type: multipart/mixed; boundary="b"\n\n--b  \n\none\n--bb\n--b--\n', True),
    (b'Content-Type: multipart/mixed; boundary="b"\n\n--b\n\none\n', True),  # no close
    (b'Content-Type: multipart/mixed; boundary="b"\n\n--b\n', True),
    (b'Content-Type: multipart/mixed; boundary="b"\n\n--b', True),
    (b'Content-Type: multipart/mixed; boundary="b"\n\n--b\n--b\n\none\n--b--\n', False),
    (b'Content-Type: multipart/mixed; boundary="b"\n\npre\n--b--\ndropped\n', True),
    (b'Content-Type: multipart/mixed; boundary="b"\n\nno delimiter\n', True),
    (b"Content-Type: multipart/mixed\n\n--b\n\none\n--b--\n", True),  # no boundary
    (b'Content-Type: multipart/mixed; boundary=""\n\n--\n\none\n----\n', False),
    (
        b'Content-Type: multipart/mixed; boundary="b"\nContent-Transfer-Encoding: base64\n\n'
        b"--b\n\none\n--b--\n",
        True,  # with a defect
    ),
    (
        b'Content-Type: multipart/mixed; boundary="b"\n\n--b\nContent-Type: multipart/mixed;'
        b' boundary="b"\n\n--b\n\ninner\n--b--\n',
        True,
    ),  # nested parts with the same boundary: the inner one finds no start
    (
        b'Content-Type: multipart/mixed; boundary="a"\n\n--a\nContent-Type: multipart/mixed;'
        b' boundary="ab"\n\n--ab\n\ninner\n--a\n\nouter\n--ab--\n--a--\n',
        True,
    ),  # the inner multipart is cut by the outer delimiter: no close boundary
    (
        b'Content-Type: multipart/digest; boundary="d"\n\n--d\n\nSubject: inner\n\nhi\n--d\n'
        b"Content-Type: text/plain\n\nplain\n--d--\n",
        True,
    ),
    (b"Content-Type: message/rfc822\n\nSubject: inner\n\nbody\n", True),
    (b"Content-Type: message/rfc822\n\n", True),
    (b"Content-Type: message/rfc822\n", True),
    (
        b'Content-Type: multipart/report; boundary="r"\n\n--r\nContent-Type: '
        b"message/delivery-status\n\nReporting-MTA: dns; x\n\nFinal-Recipient: rfc822; a@b\n"
        b"Status: 5.1.1\n\n\n--r\nContent-Type: message/rfc822\n\nSubject: s\n\nbody\n\n--r--\n",
        True,
    ),
    (b"Content-Type: message/delivery-status\n\n\n\nA: 1\n\n", True),
    (b"Content-Type: message/delivery-status\n\nA: 1\nnot a field\n\nB: 2\n", True),
    (b"Content-Type: message/delivery-status\n\nA: 1\nnot a field\nX: 1\n", True),
    (
        b'Content-Type: multipart/mixed; boundary="b"\n\n--b\nContent-Type: message/delivery-status'
        b"\n\nA: 1\nnot a field\n\n--b--\n",
        True,
    ),
    (b"Content-Type: message/delivery-status\n\nContent-Type: message/rfc822\n\nX: y\n", False),
    (b"Content-Type: message/delivery-status\n", True),
    # Only LF ends a line (the feedparser's ``StringIO(newline="")``), not what str.splitlines
    # also splits at.
    (
        b'Subject: a\x0bb\x0cc\x1cd\x85e\nContent-Type: multipart/mixed; boundary="b"\n\n'
        b"--b\x0c\n--b\n\nx\x1e\n--b\x0b\n--b--\x1c\n--b--\n",
        True,
    ),
    (b'Content-Type: multipart/mixed; boundary=" b "\n\n-- b\n\nx\n-- b--\n', True),
    (b'Content-Type: multipart/mixed; boundary="\xe9"\n\n--\xe9\n\nx\n--\xe9--\n', True),
    (
        b"Content-type: Multipart/Mixed; BOUNDARY=b\nContent-Type: text/plain\n\n--b\n\nx\n--b--\n",
        True,
    ),
]


@pytest.mark.parametrize(("raw", "taken"), CASES)
def test_cases(raw: bytes, taken: bool) -> None:
    assert same_or_declined(raw) is taken


def test_misplaced_envelope_lines_are_the_feedparsers_defects() -> None:
    """The defects' texts too (``tree`` compares their types), in the feedparser's order."""
    raw = b"Subject: x\nFrom b\nTo: y\nFrom c\nX: 1\nnot a header\nb\n"
    fast = parse_message(raw)
    assert fast is not None
    reference = feedparser(raw)
    assert [(type(d), d.args) for d in fast.defects] == [
        (type(d), d.args) for d in reference.defects
    ]
    assert [type(d).__name__ for d in fast.defects] == [
        "MissingHeaderBodySeparatorDefect",
        "MisplacedEnvelopeHeaderDefect",
        "MisplacedEnvelopeHeaderDefect",
    ]


_BOUNDARIES = ["b", "bb", "b--", "=_x", "=_x.y", "b b", "(?)", "a" * 70]
_NAMES = ["Subject", "From", "To", "X-Failed-Recipients", "Content-Description", "Status"]
_VALUE_CHARS = st.sampled_from(["a", " ", "\t", ";", ":", "=", "-", "\x00", "\udce9", "<", "@"])
_VALUES = st.text(_VALUE_CHARS, max_size=20)
_PLAIN_LINES = st.one_of(
    st.text(_VALUE_CHARS, max_size=12),
    st.sampled_from(["", "--", "From here", "Subject: text", " indented", "--bx", "---b"]),
)
# Text that looks like a delimiter of some boundary (``--boundary--`` quoted in a body).
_DELIMITER_LINES = st.sampled_from(_BOUNDARIES).flatmap(
    lambda b: st.sampled_from(["--" + b, "--" + b + "--", "--" + b + " \t", "--" + b + "x"])
)


def text_lines(clean: bool) -> st.SearchStrategy[list[str]]:
    if clean:
        return st.lists(_PLAIN_LINES, max_size=5)
    return st.lists(
        st.one_of(_PLAIN_LINES, _PLAIN_LINES, _PLAIN_LINES, _DELIMITER_LINES), max_size=5
    )


@st.composite
def header_block(draw: st.DrawFn, extra: list[str], clean: bool) -> list[str]:
    lines = [f"{name}: {draw(_VALUES)}" for name in draw(st.lists(st.sampled_from(_NAMES)))]
    if draw(st.booleans()) and (lines or not clean):
        # A folded line; a clean block folds a field, never starts with a fold.
        at = draw(st.integers(1 if clean else 0, len(lines)))
        lines.insert(at, draw(st.sampled_from([" folded", "\tfolded", " ", "  x:y"])))
    for line in extra:
        lines.insert(draw(st.integers(0, len(lines))) if not clean else len(lines), line)
    if not clean and draw(st.integers(0, 15)) == 0:
        junk = ["From me", "no colon", ":empty name", "Bad Name: x", "", "\udce9: x"]
        lines.insert(draw(st.integers(0, len(lines))), draw(st.sampled_from(junk)))
    return lines


@st.composite
def mime_entity(draw: st.DrawFn, depth: int, clean: bool, outer: tuple[str, ...] = ()) -> str:
    """One entity as text with LF endings: headers, a blank line, then a body by type."""
    kinds = ["leaf", "multipart", "message", "status"] if depth < 4 else ["leaf", "status"]
    kind = draw(st.sampled_from(kinds))
    if kind == "multipart":
        # A clean tree never reuses an enclosing boundary, nor one whose delimiter is another's
        # close delimiter ("b" and "b--"): the feedparser itself cannot split those.
        choices = [b for b in _BOUNDARIES if b not in outer and b != "b--"] if clean else []
        boundary = draw(st.sampled_from(choices or _BOUNDARIES))
        subtype = draw(st.sampled_from(["mixed", "report", "digest", "alternative"]))
        content_type = f'Content-Type: multipart/{subtype};\n boundary="{boundary}"'
    else:
        content_type = {
            "leaf": draw(st.sampled_from(["Content-Type: text/plain", "X-No-Type: 1"])),
            "message": "Content-Type: message/rfc822",
            "status": "Content-Type: message/delivery-status",
        }[kind]
    headers = draw(header_block([content_type], clean))
    if kind == "leaf":
        body = "\n".join(draw(text_lines(clean)))
    elif kind == "message":
        body = draw(mime_entity(depth + 1, clean, outer))
    elif kind == "status":
        blocks = draw(st.lists(header_block([], clean), min_size=1, max_size=3))
        separator = draw(st.sampled_from(["\n\n", "\n\n\n"]))
        body = separator.join("\n".join(block) for block in blocks)
    else:
        body = draw(multipart_body(boundary, depth, clean, (*outer, boundary)))
    return "\n".join(headers) + "\n\n" + body + draw(st.sampled_from(["", "\n", "\n\n"]))


@st.composite
def multipart_body(
    draw: st.DrawFn, boundary: str, depth: int, clean: bool, outer: tuple[str, ...]
) -> str:
    parts = draw(st.lists(mime_entity(depth + 1, clean, outer), min_size=1, max_size=3))
    delimiter = "--" + boundary + draw(st.sampled_from(["", " ", "\t "]))
    lines = draw(text_lines(clean))  # the preamble
    for part in parts:
        lines.append(delimiter)
        if not clean and draw(st.integers(0, 10)) == 0:
            lines.append(delimiter)  # doubled
        lines.append(part)
    if clean or draw(st.integers(0, 3)):
        lines.append("--" + boundary + "--" + draw(st.sampled_from(["", "  "])))
        lines.extend(draw(text_lines(clean)))  # the epilogue
    return "\n".join(lines)


def _encode(text: str) -> bytes:
    return text.encode("ascii", "surrogateescape")


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(mime_entity(0, False), mime_entity(0, True)), st.data())
def test_damaged_trees_parse_as_the_feedparser_or_are_declined(text: str, data: Any) -> None:
    raw = _encode(text)
    damage = data.draw(st.sampled_from(["none", "truncate", "cr", "cut line"]))
    if damage == "truncate":
        raw = raw[: data.draw(st.integers(0, len(raw)))]
    elif damage == "cr":
        raw = raw.replace(b"\n", b"\r\n", data.draw(st.integers(1, 3)))
    elif damage == "cut line":
        at = data.draw(st.integers(0, len(raw)))
        raw = raw[:at] + raw[at:].replace(b"\n", b"", 1)
    same_or_declined(raw)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mime_entity(0, True))
def test_well_formed_trees_take_the_fast_path(text: str) -> None:
    """Trees without defects are never left to the feedparser (boundaries of the generator
    never nest the same name twice in a row, which the feedparser itself cannot split)."""
    raw = _encode(text)
    reference = feedparser(raw)
    if reference.defects or _has_defects(reference):
        return  # e.g. a boundary reused by a nested multipart: the feedparser's defects
    if any(part.get_unixfrom() for part in reference.walk()):
        # A digest's part without Content-Type is a message/rfc822 whose text starts with
        # "From ": an envelope line, which the fast path leaves to the feedparser by design.
        return
    assert same_or_declined(raw)


def _has_defects(msg: Any) -> bool:
    payload = msg._payload
    parts = payload if isinstance(payload, list) else []
    return bool(msg.defects) or any(_has_defects(part) for part in parts)


_PARAMETER_PIECES = st.sampled_from(
    [
        "multipart/mixed",
        "Multipart/Report",
        "text/plain",
        "multipart",
        ";",
        " ",
        "\t",
        "\n\t",
        "=",
        '"',
        "\\",
        "*",
        "<",
        ">",
        "boundary",
        "BOUNDARY",
        "boundary*0",
        "boundary*",
        "charset",
        "=_x",
        "a b",
        "\x00",
        "\x0b",
        "\udce9",
        "us-ascii''abc",
        "%41",
    ]
)


_PARAMETER_NAMES = st.sampled_from(["boundary", "Boundary ", " BOUNDARY", "charset", "boundary*0"])
_PARAMETER_VALUES = st.lists(_PARAMETER_PIECES, max_size=4).map("".join)
_PARAMETERS = st.lists(
    st.tuples(
        _PARAMETER_NAMES,
        st.sampled_from(["=", " = ", "=\n\t"]),
        st.one_of(_PARAMETER_VALUES, _PARAMETER_VALUES.map(lambda v: f'"{v}"')),
    ).map("".join),
    max_size=3,
)
_CONTENT_TYPE_VALUES = st.one_of(
    st.lists(_PARAMETER_PIECES, max_size=14).map("".join),
    st.tuples(_PARAMETER_PIECES, _PARAMETERS, st.sampled_from(["", ";", " ; "])).map(
        lambda t: ";".join([t[0], *t[1]]) + t[2]
    ),
)


@settings(max_examples=600, deadline=None)
@given(_CONTENT_TYPE_VALUES)
def test_content_type_and_boundary_read_as_the_standard_library(value: str) -> None:
    """The boundary read directly from plain parameters is ``get_boundary``'s."""
    fast, reference = IndexedMessage(), IndexedMessage()
    for msg in (fast, reference):
        msg._headers = [("X", "1"), ("content-TYPE", value), ("Content-Type", "text/x")]
    assert _content_type(fast) == reference.get_content_type()
    try:
        expected = reference.get_boundary()
    except TypeError:
        # ``boundary*0=; boundary*``: the standard library's RFC 2231 decoding fails (it sorts
        # None with 0); the fast path asks it too, so the parse fails the same way.
        with pytest.raises(TypeError):
            _boundary(fast)
        return
    assert _boundary(fast) == expected


def test_broken_rfc2231_boundary_fails_as_the_feedparser() -> None:
    raw = b"Content-Type: multipart/mixed; boundary*0=; boundary*\n\n--x\n\nhi\n--x--\n"
    with pytest.raises(TypeError):
        feedparser(raw)
    with pytest.raises(TypeError):
        parse_message(raw)


@pytest.mark.parametrize(
    "value",
    [
        'multipart/mixed; boundary="=_abc"',
        "multipart/mixed;\n\tboundary=abc; charset=us-ascii",
        'multipart/report; report-type=delivery-status;\n boundary="<a b>  "',
        "multipart/mixed; boundary==_x=;",
        "multipart/mixed; Boundary = x ; boundary=y",
    ],
)
def test_plain_parameters_are_read_directly(value: str) -> None:
    assert _PLAIN_PARAMETERS.match(value)
    msg = IndexedMessage()
    msg._headers = [("Content-Type", value)]
    assert _boundary(msg) == IndexedMessage.get_boundary(msg)


# Content-Type values: parameters named boundary in any case or nearly, values plain,
# quoted, in angle brackets or both, blanks and folds, and what makes a value not plain
# (a backslash, RFC 2231 ``*``, a ";" or a control character in quotes, a bare name).
_BLANK = st.sampled_from(["", " ", "\n\t", "  "])
_NAME = st.sampled_from(["boundary", "Boundary", "BOUNDARY", "boundaryx", "xboundary", "charset"])
_VALUE = st.sampled_from(["b", "=_a.b", "", "<b>", "a b", "x;y", "a\\b", "\x01", "<", '"'])
_QUOTE = st.sampled_from(["{}", '"{}"', "<{}>", '"<{}>"', '<"{}">', "{}*", '"{}'])


@st.composite
def _content_types(draw: st.DrawFn) -> str:
    value = draw(st.sampled_from(["multipart/mixed", "boundary", " text/plain ", "a/b/c"]))
    for _ in range(draw(st.integers(0, 3))):
        name = draw(_NAME) + draw(st.sampled_from(["", "*", "*0"]))
        quoted = draw(_QUOTE).format(draw(_VALUE))
        blanks = [draw(_BLANK) for _ in range(4)]
        value += f";{blanks[0]}{name}{blanks[1]}={blanks[2]}{quoted}{blanks[3]}"
        if draw(st.booleans()):
            value += draw(st.sampled_from([";", "; ", ";x", "; =a"]))
    return value


@settings(max_examples=1000, deadline=None)
@given(_content_types())
def test_boundary_read_directly_is_get_boundarys(value: str) -> None:
    msg = IndexedMessage()
    msg._headers = [("Content-Type", value)]
    try:
        expected = IndexedMessage.get_boundary(msg)
    except (TypeError, ValueError, LookupError, AttributeError) as exc:
        with pytest.raises(type(exc)):
            _boundary(msg)
        return
    assert _boundary(msg) == expected


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=600))
def test_arbitrary_bytes_parse_as_the_feedparser_or_are_declined(raw: bytes) -> None:
    same_or_declined(raw)


def _nested(depth: int) -> bytes:
    raw = b"Content-Type: text/plain\n\nhello\n"
    for level in range(depth):
        raw = b"Content-Type: multipart/mixed; boundary=l%d\n\n--l%d\n%s--l%d--\n" % (
            (level, level, raw, level)
        )
    return raw


def test_nesting_past_the_splitters_own_depth_is_left_to_the_feedparser() -> None:
    # Under a ``max_depth`` configured above the splitter's own (40 levels): past it, the
    # feedparser reads the message (the raw scan of the limits guards it).
    deep = ParseLimits(max_depth=100)
    fast = parse_message(_nested(30), deep)
    assert fast is not None and tree(fast) == tree(feedparser(_nested(30)))
    assert parse_message(_nested(60), deep) is None
    # Under the default caps the depth limit stops it first.
    with pytest.raises(UnparseableMessage, match="depth over the limit of 24"):
        parse_message(_nested(30))


def test_index_answers_header_questions_as_compat32(corpus: Path) -> None:
    """The index's shortcut for ASCII values returns what compat32 returns, 8-bit values
    still become the same ``Header`` objects."""
    eight_bit = 0
    for path in _corpus_files(corpus):
        raw = _normalise(path.read_bytes())
        plain = email.message_from_bytes(raw, policy=email.policy.compat32)
        indexed = feedparser(raw)
        for plain_part, indexed_part in zip(plain.walk(), indexed.walk(), strict=True):
            for name in {key.upper() for key in plain_part}:
                got = [indexed_part.get(name), *indexed_part.get_all(name)]
                expected = [plain_part.get(name), *plain_part.get_all(name)]
                assert [(type(v), str(v)) for v in got] == [(type(v), str(v)) for v in expected]
                eight_bit += not isinstance(plain_part.get(name), str)
    assert eight_bit  # the corpus has 8-bit header values: both paths are compared


def test_envelope_line_opening_a_digest_part_is_left_to_the_feedparser() -> None:
    # Found by hypothesis in CI: a digest part without Content-Type is a message/rfc822 whose
    # first line "From here" is an envelope line; declining is the documented answer.
    raw = (
        b'Content-Type: multipart/digest;\n boundary="b"\n\n--b\nContent-Type: text/plain\n\n\n'
        b"--b\nX-No-Type: 1\n\nFrom here\nFrom here\n--b--"
    )
    assert any(part.get_unixfrom() for part in feedparser(raw).walk())
    assert parse_message(raw) is None


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.sampled_from(["Subject: a", "To: b", "X: c", "  fold", "From x", "From y z"])),
    st.sampled_from(["\n\nbody\n", "\nnot a header\n", "", "\n"]),
)
def test_envelope_lines_among_fields_parse_as_the_feedparser(lines: list[str], end: str) -> None:
    """Taken whenever every envelope line is followed by a field line (none ends the block,
    none precedes a fold), the feedparser's tree otherwise or declined."""
    raw = _encode("Subject: first\n" + "\n".join(lines) + end)
    following = [*lines[1:], ""][: len(lines)]
    simple = all(
        nxt.startswith(("Subject", "To", "X"))
        for line, nxt in zip(lines, following, strict=True)
        if line.startswith("From ")
    )
    assert same_or_declined(raw) or not simple
