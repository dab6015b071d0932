"""The detectors' shortcuts give what the long way gives (issue 3, session 3 speed work).

Each shortcut is compared with the code it replaced, kept here as the reference: on every
part of every project sample and corpus message, and on generated text.
"""

from __future__ import annotations

import email
import email.policy
import importlib
import pkgutil
import re
from email.message import Message
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mailbounce import bounces
from mailbounce.bounces import _normalise
from mailbounce.bounces._addressblocks import Sentence, first_sentence
from mailbounce.bounces._mailtexts import body_text
from mailbounce.bounces._message import IndexedMessage
from mailbounce.bounces._textblocks import _first_line_matching, enhanced_status
from mailbounce.bounces.base import (
    ASCII_TRANSPARENT,
    Mail,
    decoded_part_text,
    header_items,
    part_text,
    walk_parts,
)
from mailbounce.bounces.rfc3464 import _fields, clean_address
from mailbounce.lazy_patterns import LazyPattern

DATA = Path(__file__).resolve().parent / "data"


def _parse(raw: bytes) -> Message:
    return email.message_from_bytes(_normalise(raw), IndexedMessage, policy=email.policy.compat32)


def _samples() -> list[Message]:
    return [_parse(path.read_bytes()) for path in sorted(DATA.rglob("*.eml"))]


def _reference_part_text(part: Message) -> str:
    """``part_text`` as it was: always through ``get_payload(decode=True)``."""
    return decoded_part_text(part)


def _reference_enhanced_status(text: str) -> str | None:
    """``enhanced_status`` as it was: two scans, the look-behind regex compiled per call."""
    pattern = re.compile(r"(?<![\d.])([245])\.(\d{1,3})\.(\d{1,3})(?![\d.]*\d)")
    codes = [m.group(0) for m in pattern.finditer(text)]
    if not codes:
        return None
    for match in pattern.finditer(text):
        before = text[max(0, match.start() - 6) : match.start()]
        if re.search(r"[245]\d\d[ \-]'?\s*$", before) and not match.group(0).endswith(".0.0"):
            return match.group(0)
    for code in codes:
        if not code.endswith(".0.0"):
            return code
    return codes[0]


def _assert_same_on(msg: Message, label: str) -> None:
    assert walk_parts(msg) == list(msg.walk()), label
    for part in msg.walk():
        assert part_text(part) == _reference_part_text(part), label
        payload = part.get_payload()
        if part.get_content_type() == "message/delivery-status" and isinstance(payload, list):
            for block in payload:
                expected = {k.lower(): str(v) for k, v in header_items(block)}
                assert _fields(block) == expected, label


def test_every_transparent_charset_keeps_ascii() -> None:
    ascii_bytes = bytes(range(128))
    for charset in ASCII_TRANSPARENT:
        assert ascii_bytes.decode(charset) == ascii_bytes.decode("ascii"), charset


def test_shortcuts_on_the_project_samples() -> None:
    messages = _samples()
    assert messages
    for index, msg in enumerate(messages):
        _assert_same_on(msg, f"sample {index}")


def test_shortcuts_on_the_corpus(corpus: Path) -> None:
    files = sorted(p for p in (corpus / "bounces" / "maildir").rglob("*") if p.is_file())
    assert files
    for path in files:
        _assert_same_on(_parse(path.read_bytes()), path.name)


@pytest.mark.parametrize(
    ("headers", "body"),
    [
        ("Content-Type: text/plain; charset=utf-16\n", b"abc\n"),  # not ASCII-transparent
        ("Content-Type: text/plain; charset=iso-2022-jp\n", b"\x1b$B$3\x1b(B\n"),
        ("Content-Type: text/plain; charset=utf-7\n", b"+AOk-t\xc3\xa9\n"),
        ("Content-Type: text/plain; charset=nonsense\n", b"plain words\n"),
        ("Content-Type: text/plain\nContent-Transfer-Encoding: base64\n", b"aMOpbGxv\n"),
        ("Content-Type: text/plain\nContent-Transfer-Encoding: Quoted-Printable\n", b"a=3Db\n"),
        ("Content-Type: text/plain; charset=us-ascii\n", b"caf\xc3\xa9\n"),  # 8-bit in ASCII
        ('Content-Type: text/plain; charset="UTF-8"\n', b"line\r\nnext\rlast\n"),
        ("Content-Type: multipart/mixed; boundary=x\n", b"--x\n\nhi\n--x--\n"),
    ],
)
def test_part_text_edge_cases(headers: str, body: bytes) -> None:
    msg = _parse(b"Subject: t\n" + headers.encode() + b"\n" + body)
    for part in msg.walk():
        assert part_text(part) == _reference_part_text(part)


@settings(max_examples=300, deadline=None)
@given(
    charset=st.sampled_from([*sorted(ASCII_TRANSPARENT), "utf-16", "cp037", "utf-7", ""]),
    cte=st.sampled_from(["", "7bit", "8bit", "binary", "base64", "quoted-printable"]),
    body=st.binary(max_size=200),
)
def test_part_text_on_generated_parts(charset: str, cte: str, body: bytes) -> None:
    headers = b"Content-Type: text/plain" + (f"; charset={charset}".encode() if charset else b"")
    headers += f"\nContent-Transfer-Encoding: {cte}".encode() if cte else b""
    msg = _parse(b"Subject: t\n" + headers + b"\n\n" + body)
    assert part_text(msg) == _reference_part_text(msg)


@settings(max_examples=500, deadline=None)
@given(
    st.lists(
        st.sampled_from(["550 ", "5.1.1", "4.0.0", "5.0.0", " ", "-", "'", "2.", "55", "x", "."]),
        max_size=14,
    ).map("".join)
)
def test_enhanced_status_as_before(text: str) -> None:
    assert enhanced_status(text) == _reference_enhanced_status(text)


@settings(deadline=None)
@given(st.text(max_size=60))
def test_clean_address_skips_only_clean_values(value: str) -> None:
    control = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
    if value.isprintable():
        assert control.sub("", value) == value
    assert clean_address(value) == clean_address(control.sub("", value))


def _sentence_tables() -> list[tuple[Sentence, ...]]:
    """Every family's sentence table (module-level tuples of ``Sentence``)."""
    tables = []
    for module in pkgutil.iter_modules(bounces.__path__):
        loaded = importlib.import_module(f"mailbounce.bounces.{module.name}")
        for value in vars(loaded).values():
            if isinstance(value, tuple) and value and isinstance(value[0], Sentence):
                tables.append(value)
    return tables


TABLES = _sentence_tables()


def _assert_same_sentence(text: str, label: str) -> None:
    for table in TABLES:
        expected = next((s for s in table if s.pattern.search(text)), None)
        assert first_sentence(table, text) is expected, label


def test_there_are_sentence_tables() -> None:
    assert len(TABLES) >= 10


def test_first_sentence_on_the_project_samples() -> None:
    for index, msg in enumerate(_samples()):
        text = body_text(Mail(msg))
        for line in [text, *text.split("\n")[:60]]:
            _assert_same_sentence(line, f"sample {index}")


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.sampled_from(
            [
                w
                for table in TABLES
                for s in table
                for w in re.findall(r"[A-Za-z']+", s.pattern.pattern)[:3]
            ]
            + [" ", "\u212a", "\u0130", "é", "MAILBOX", "Full", "550 5.1.1"]
        ),
        max_size=12,
    ).map(" ".join)
)
def test_first_sentence_on_generated_text(text: str) -> None:
    _assert_same_sentence(text, repr(text))


def test_first_sentence_of_a_list_is_searched_in_turn() -> None:
    table = list(TABLES[0])
    assert first_sentence(table, "") is None
    assert first_sentence([], "mailbox full") is None


def _module_patterns() -> list[re.Pattern[str]]:
    """Every module-level pattern of the detector modules (compiled or on first use)."""
    patterns: dict[int, re.Pattern[str]] = {}
    for module in pkgutil.iter_modules(bounces.__path__):
        loaded = importlib.import_module(f"mailbounce.bounces.{module.name}")
        for value in vars(loaded).values():
            if isinstance(value, (re.Pattern, LazyPattern)) and isinstance(value.pattern, str):
                patterns[id(value)] = value
    return list(patterns.values())


PATTERNS = _module_patterns()


def _assert_same_first_line(text: str, label: str) -> None:
    lines = text.split("\n")
    for pattern in PATTERNS:
        expected = next((i for i, line in enumerate(lines) if pattern.search(line)), None)
        assert _first_line_matching(pattern, text, lines) == expected, (label, pattern)


def test_first_line_on_the_project_samples() -> None:
    assert len(PATTERNS) > 100
    for index, msg in enumerate(_samples()):
        _assert_same_first_line(body_text(Mail(msg))[:5000], f"sample {index}")


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.sampled_from(
            [w for p in PATTERNS for w in re.findall(r"[A-Za-z]{3,}", p.pattern)[:2]]
            + ["\n", "\n", " ", "\u212a", "550", "<a@b.example>", ":", "-----"]
        ),
        max_size=20,
    ).map(" ".join)
)
def test_first_line_on_generated_text(text: str) -> None:
    _assert_same_first_line(text, repr(text))


# Each code pattern as it was (a leading look-behind), beside the one in use.
_AS_BEFORE = {
    "_textblocks._ENHANCED": r"(?<![\d.])([245])\.(\d{1,3})\.(\d{1,3})(?![\d.]*\d)",
    "_recipientblocks._CODES": (
        r"(?<![\d.])[245]\.\d{1,3}\.\d{1,3}(?![\d.])|(?<![\w.-])[45][0-5]\d(?=[ -]|$)"
    ),
    "fallback._FAILURE_STATUS": r"(?<![\d.])[45]\.\d{1,3}\.\d{1,3}(?![\d.]*\d)",
    "rfc3464._REPLY_CODE": r"(?<![\w.#/:=-])([245][0-5]\d)(?=[ :,-]|$)(?!:\d)",
}


def _in_use(name: str) -> re.Pattern[str]:
    module, attribute = name.split(".")
    pattern = getattr(importlib.import_module(f"mailbounce.bounces.{module}"), attribute)
    assert isinstance(pattern, (re.Pattern, LazyPattern))
    return pattern  # type: ignore[return-value]  # a LazyPattern answers as one


def _matches(pattern: re.Pattern[str], text: str) -> list[tuple[tuple[int, int], tuple[str, ...]]]:
    return [(m.span(), m.groups()) for m in pattern.finditer(text)]


@settings(max_examples=2000, deadline=None)
@given(st.text(alphabet="245013.9 -x_:#/=é٣'\n", max_size=16), st.sampled_from(sorted(_AS_BEFORE)))
def test_code_patterns_match_as_before(text: str, name: str) -> None:
    before = re.compile(_AS_BEFORE[name])
    assert _matches(_in_use(name), text) == _matches(before, text)


def test_code_patterns_on_the_project_samples() -> None:
    texts = [body_text(Mail(msg)) for msg in _samples()]
    for name, source in _AS_BEFORE.items():
        before = re.compile(source)
        for text in texts:
            assert _matches(_in_use(name), text) == _matches(before, text), name


def test_line_prechecks_hide_no_match() -> None:
    """The ``in`` / ``startswith`` tests before the per-line regexes say no only where the
    regex cannot match (every line of every sample body, and generated lines)."""
    from mailbounce.bounces._addressblocks import _BLOCK_HEAD
    from mailbounce.bounces._recipientblocks import _HEADER_LINE, _SENDER_LINE, _SESSION
    from mailbounce.bounces._textblocks import _LEADING_ADDRESS

    lines = [line for msg in _samples() for line in body_text(Mail(msg)).split("\n")]
    lines += ["<a@b.example>: x", " <a@b.example>:", "To: x", "Sender:x", "... while talking to"]
    for line in lines:
        if not line.startswith("<"):
            assert _BLOCK_HEAD.match(line) is None, line
        if "@" not in line:
            assert _LEADING_ADDRESS.match(line) is None, line
        if ":" not in line:
            assert _HEADER_LINE.match(line.strip()) is None, line
            assert _SENDER_LINE.match(line) is None, line
        if "..." not in line:
            assert _SESSION.match(line) is None, line
        _assert_transcript_prechecks(line.strip())


def _assert_transcript_prechecks(line: str) -> None:
    from mailbounce.bounces import _transcript as tr

    if not line:
        return
    first = line[0]
    if first not in ".wW":
        assert tr._SESSION.match(line) is None, line
    if first != ">":
        assert tr._SENT.match(line) is None, line
    if first != "<":
        assert tr._RECEIVED.match(line) is None, line
    if first not in "245":
        assert tr._HOST_LINE.match(line) is None, line
        assert tr._LOOSE.match(line) is None, line
    if "..." not in line:
        assert tr._RECIPIENT_LINE.match(line) is None, line


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.sampled_from(["...", "While talking to", " ", ">>>", "<<<", "550", "5.1.1", "<a@b>"]),
        max_size=8,
    ).map("".join)
)
def test_transcript_prechecks_on_generated_lines(line: str) -> None:
    _assert_transcript_prechecks(line.strip())


def _said_and_command_as_before(text: str) -> tuple[str | None, str | None]:
    from mailbounce.bounces._addressblocks import _COMMAND, _SAID_CODE

    said = _SAID_CODE.search(text)
    command = next((c for pattern, c in _COMMAND if pattern.search(text)), None)
    return (said.group(1) if said else None), command


def _assert_said_and_command(text: str) -> None:
    from mailbounce.bounces._addressblocks import said_code, smtp_command

    assert (said_code(text), smtp_command(text)) == _said_and_command_as_before(text), text


def test_said_code_and_command_on_the_project_samples() -> None:
    for msg in _samples():
        text = body_text(Mail(msg))
        for line in [text, *text.split("\n")]:
            _assert_said_and_command(line)


@settings(max_examples=500, deadline=None)
@given(
    st.lists(
        st.sampled_from(
            [
                *("said", "SAID:", "ſaid", "Said ", "550", "421-", " ", "\n", "x", "RCPT TO"),
                *("rcpt_to", "[MAIL_FROM]", "end of DATA", "HELO", "my name was rejected"),
                *("\u212a", "data"),
            ]
        ),
        max_size=10,
    ).map("".join)
)
def test_said_code_and_command_on_generated_text(text: str) -> None:
    _assert_said_and_command(text)
