"""Tracking tokens read from a bounce's own headers: the shortcut that skips messages with no
"+" in their VERP headers gives the tokens, in the order, of the full pass (issue 3)."""

from __future__ import annotations

import email
import email.policy

import pytest

from mailbounce.bounces import analyse_message
from mailbounce.bounces._correlation import _tracking_tokens
from mailbounce.bounces._message import IndexedMessage

_HEADERS = [
    b"To: bounces+abc123@lists.example.org\n",
    b"Delivered-To: BOUNCES+Def456@lists.example.org\n",
    b"X-Original-To: <bounces+ghi789@lists.example.org>\n",
    b"envelope-to: bounces+abc123@lists.example.org\n",
    b"Return-Path: <bounces+jkl012@lists.example.org>\n",
    b"To: =?utf-8?q?Jo+Jo?= <jo@example.org>\n",
    b"To: caf\xc3\xa9+x <bounces+mno345@lists.example.org>\n",
    b"Cc: bounces+notverp@lists.example.org\n",
    b"To: plain@example.org\n",
]


def _reference(msg: IndexedMessage) -> tuple[str, ...]:
    """The full pass over every header (what ``_tracking_tokens`` did for every message)."""
    from mailbounce.bounces._correlation import _VERP_HEADERS, _verp_tokens

    tokens: list[str] = []
    for name, raw in msg.raw_items():
        if name.lower() in _VERP_HEADERS:
            tokens.extend(_verp_tokens(str(msg.policy.header_fetch_parse(name, raw))))
    return tuple(dict.fromkeys(tokens))


@pytest.mark.parametrize("first", range(len(_HEADERS)))
@pytest.mark.parametrize("second", range(len(_HEADERS)))
def test_header_tokens_as_the_full_pass(first: int, second: int) -> None:
    raw = b"From: MAILER-DAEMON@example.org\n" + _HEADERS[first] + _HEADERS[second]
    raw += b"Subject: failure\n\nbody\n"
    msg = email.message_from_bytes(raw, IndexedMessage, policy=email.policy.compat32)
    assert isinstance(msg, IndexedMessage)
    assert _tracking_tokens(msg, [], []) == _reference(msg)


def test_tokens_found_in_a_bounce() -> None:
    raw = (
        b"From: MAILER-DAEMON@example.org\nTo: bounces+abc123@lists.example.org\n"
        b"Subject: failure\n\nno report here\n"
    )
    assert analyse_message(raw).tracking_tokens == ("abc123",)
    without = raw.replace(b"bounces+abc123", b"bounces")
    assert analyse_message(without).tracking_tokens == ()


# --------------------------------------------------------------------------- returned originals
# ``correlation_keys`` reads a returned message's fields one by one; the reference is the
# text of its headers, lower-cased and scanned (what ``analyse_message`` did before).


def _text_reference(raw: bytes) -> tuple[str | None, tuple[str, ...]]:
    from mailbounce.bounces._correlation import (
        _ascii_lowered,
        _original_message_id,
        _original_parts,
        _original_texts,
    )
    from mailbounce.bounces.base import Mail

    msg = email.message_from_bytes(raw, IndexedMessage, policy=email.policy.compat32)
    mail = Mail(msg)
    texts, from_original = _original_texts(mail, _original_parts(mail))
    lowered = [_ascii_lowered(text) for text in texts]
    return (
        _original_message_id(texts, lowered, from_original),
        _tracking_tokens(msg, texts, lowered),
    )


def _keys(raw: bytes) -> tuple[str | None, tuple[str, ...]]:
    from mailbounce.bounces._correlation import correlation_keys
    from mailbounce.bounces.base import Mail

    msg = email.message_from_bytes(raw, IndexedMessage, policy=email.policy.compat32)
    return correlation_keys(Mail(msg))


_ORIGINAL_FIELDS = [
    b"Message-ID: <first@example.org>\n",
    b"message-id: <second@example.org>\n",
    b"MESSAGE-ID:\n <folded@example.org>\n",
    b"Message-ID: \n",
    b"Message-ID:   bare-id@example.org  \n",
    b"Message-ID : <spaced@example.org>\n",
    b"Message-\xc4\xb0D: <dotted@example.org>\n",  # U+0130: IGNORECASE matches it with "i"
    b"X-Mailbounce-To\xe2\x84\xaaen: tok5.sig\n",  # U+212A KELVIN SIGN: lower-cases to "k"
    b"X-Mailbounce-Token: tok1.sig\n",
    b"x-mailbounce-token:tok2.sig extra\n",
    b"X-Mailbounce-Token:\n",
    b"Return-Path: <bounces+tok3@lists.example.org>\n",
    b"return-path: <plain@example.org>\n",
    b"Subject: caf\xc3\xa9 Message-ID: <in-subject@example.org>\n",
    b"Subject: a\n Message-ID: <in-fold@example.org>\n",
    b"To: bounces+tok4@lists.example.org\n",
]


@pytest.mark.parametrize("first", range(len(_ORIGINAL_FIELDS)))
@pytest.mark.parametrize("second", range(len(_ORIGINAL_FIELDS)))
def test_returned_original_fields_as_its_text(first: int, second: int) -> None:
    original = b"From: list@example.org\n" + _ORIGINAL_FIELDS[first] + _ORIGINAL_FIELDS[second]
    raw = (
        b"From: MAILER-DAEMON@example.org\nTo: bounces+own@lists.example.org\n"
        b"MIME-Version: 1.0\nContent-Type: multipart/report; boundary=b\n\n"
        b"--b\nContent-Type: text/plain\n\nfailed\n"
        b"--b\nContent-Type: message/rfc822\n\n" + original + b"\nbody\n--b--\n"
    )
    assert _keys(raw) == _text_reference(raw)


def test_every_sample_as_its_text() -> None:
    from analysis_snapshot import sample_files  # tests/ is on the path (rootdir conftest)

    files = sample_files()
    assert files
    for path in files:
        raw = path.read_bytes()
        if b"\r" in raw:
            raw = raw.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
        try:
            expected = _text_reference(raw)
        except Exception:  # unparseable samples are quarantined, not read
            continue
        assert _keys(raw) == expected, path
