"""Session 9: detector patterns rewritten so that ``_prefilter.search`` reads a leading literal
of each alternative (``--+`` for ``-{2,}``, ``^A|^B`` for ``^(A|B)``, no group around the
alternatives) match what the patterns as first written matched, at the same places with the
same groups (issue 3: the old forms made the search scan every character)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mailbounce.bounces import (
    _eximtext,
    _reportshape,
    amazonses,
    dragonfly,
    gmail,
    googlegroups,
)
from mailbounce.bounces._fastparse import parse_message
from mailbounce.bounces._mailtexts import body_text
from mailbounce.bounces._prefilter import search_text
from mailbounce.bounces.base import Mail
from mailbounce.regex_literals import leading_literals

DATA = Path(__file__).resolve().parent / "data"

# (pattern now, the pattern as first written)
REWRITTEN = {
    "_eximtext._SEPARATOR": (
        _eximtext._SEPARATOR,
        re.compile(r"^-{2,} ?(This is a copy of|The body of the message)", re.I | re.M),
    ),
    "gmail._SEPARATOR": (
        gmail._SEPARATOR,
        re.compile(r"^-{3,} ?(Original message|Message header follows) ?-{3,}", re.I | re.M),
    ),
    "googlegroups._SEPARATOR": (
        googlegroups._SEPARATOR,
        re.compile(r"^-{3,} ?Original message ?-{3,}", re.I | re.M),
    ),
    "dragonfly._SEPARATOR": (
        dragonfly._SEPARATOR,
        re.compile(r"^(Message headers follow|Original message follows)\.?\s*$", re.I | re.M),
    ),
    "amazonses._TEXT_RECIPIENT": (
        amazonses._TEXT_RECIPIENT,
        re.compile(
            r"(?:message to <([^>]+)> was undeliverable|deliver the mail to the following "
            r"recipients:\s*(\S+@\S+))",
            re.I,
        ),
    ),
}


def _same(now: re.Pattern[str], before: re.Pattern[str], text: str) -> None:
    found, expected = now.search(text), before.search(text)
    if expected is None:
        assert found is None and search_text(now, text) is None, repr(text[:200])
        return
    assert found is not None, repr(text[:200])
    assert found.span() == expected.span(), repr(text[:200])
    if now.groups == before.groups:  # dragonfly's lost group was never read (``cut_at``)
        assert found.groups() == expected.groups(), repr(text[:200])
    prefiltered = search_text(now, text)  # the search the detectors make
    assert prefiltered is not None and prefiltered.span() == expected.span(), repr(text[:200])


@pytest.mark.parametrize("name", sorted(REWRITTEN))
def test_each_now_has_leading_literals(name: str) -> None:
    now, _ = REWRITTEN[name]
    assert leading_literals(now) is not None


def _sample_texts() -> list[str]:
    texts = []
    for path in sorted(DATA.rglob("*.eml")):
        msg = parse_message(path.read_bytes().replace(b"\r\n", b"\n"))
        if msg is not None:
            texts.append(body_text(Mail(msg)))
    return texts


def test_rewritten_patterns_on_the_project_samples() -> None:
    texts = _sample_texts()
    assert len(texts) > 50
    for now, before in REWRITTEN.values():
        for text in texts:
            _same(now, before, text)
            for line in text.split("\n"):
                _same(now, before, line)


_PIECES = st.sampled_from(
    [
        "\n",
        " ",
        "-",
        "--",
        "---",
        ">",
        "This is a copy of",
        "The body of the message",
        "Original message",
        "ORIGINAL MESSAGE",
        "Message header follows",
        "Message headers follow",
        "Original message follows",
        ".",
        "message to <jo@example.org> was undeliverable",
        "Deliver the mail to the following recipients: jo@example.org",
        "ſ",
        "K",
    ]
)


@settings(max_examples=800, deadline=None)
@given(st.lists(_PIECES, max_size=14).map("".join), st.sampled_from(sorted(REWRITTEN)))
def test_rewritten_patterns_on_generated_text(text: str, name: str) -> None:
    now, before = REWRITTEN[name]
    _same(now, before, text)


_MARKER_BEFORE = re.compile(
    r"(original message(?! was received)|returned message|message headers follow"
    r"|copy of the message|below this line|undelivered message|message d'origine|message original"
    r"|headers of your message|first \d+ lines|(?<![=;])rfc822(?!;)|^received: "
    r"|mensaje original|messaggio originale|mensagem original|urspr[üu]ngliche nachricht)",
    re.I | re.M,
)


def _same_marker(text: str) -> None:
    found, expected = _reportshape._original_marker(text), _MARKER_BEFORE.search(text, 40)
    if expected is None:
        assert found is None, repr(text[:200])
    else:
        assert found is not None and found.span() == expected.span(), repr(text[:200])


def test_original_marker_on_the_project_samples() -> None:
    for text in _sample_texts():
        _same_marker(text)
        _same_marker(text[:300])


_MARKER_PIECES = st.sampled_from(
    [
        "\n",
        " ",
        "=",
        ";",
        "x",
        "Original Message",
        " was received",
        "rfc822",
        "RFC822",
        "=rfc822",
        "rfc822;",
        "Received: ",
        "received: ",
        "first 20 lines",
        "first lines",
        "ursprüngliche Nachricht",
        "URSPRUNGLICHE NACHRICHT",
        "Below this line",
        "ſ",
        "K",
    ]
)


@settings(max_examples=800, deadline=None)
@given(st.lists(_MARKER_PIECES, max_size=20).map("".join))
def test_original_marker_on_generated_text(text: str) -> None:
    _same_marker(text)
    _same_marker("x" * 38 + text)  # around the position the search starts from
    _same_marker("x" * 39 + "\n" + text)
