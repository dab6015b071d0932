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
