"""The shortcuts of the per-message header and envelope work give what the full rules give.

``mailbox``, ``unstructured`` (``compose_headers``) and ``one_line`` (``smtp_wire``) skip
their general steps for the usual values (printable text, one encoded-word), and
``EnvelopeMaker`` keeps its last MAIL FROM command: each is checked here against the rule
written out in full, on generated values including the awkward ones.
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mailbounce.compose_headers import (
    _phrase,
    encode_words,
    header_text,
    mailbox,
    unstructured,
)
from mailbounce.smtp import SendResult, envelope_path
from mailbounce.smtp_envelope import EnvelopeMaker
from mailbounce.smtp_wire import one_line

# Printable ASCII, accents, every kind of white space and line break, angle brackets.
_text = st.lists(
    st.sampled_from(
        [
            *("a", "Z", "é", "Ж", "€", " ", "  ", "\t", "\r\n", "\n", "\x85", "\u2028"),
            *("\xa0", "\u3000", "<", ">", "@", ".", '"', "=?", "x" * 50),
        ]
    ),
    max_size=10,
).map("".join)


def _mailbox_rule(name: str | None, address: str) -> str:
    addr = header_text(address).replace("<", "").replace(">", "").replace(" ", "")
    text = header_text(name or "")
    return f"{_phrase(text)} <{addr}>" if text else addr


def _unstructured_rule(value: str) -> str:
    text = header_text(value)
    if text.isascii() and "=?" not in text and len(text) <= 900:
        return text
    return encode_words(text)


@given(st.none() | _text, _text)
@settings(max_examples=300)
def test_mailbox_shortcut_is_the_full_rule(name: str | None, address: str) -> None:
    assert mailbox(name, address) == _mailbox_rule(name, address)


@given(_text)
@settings(max_examples=300)
def test_unstructured_shortcut_is_the_full_rule(value: str) -> None:
    assert unstructured(value) == _unstructured_rule(value)


@given(_text)
@settings(max_examples=300)
def test_one_line_shortcut_is_the_full_rule(text: str) -> None:
    assert one_line(text) == " ".join(text.split())
    raw = text.encode("utf-8") + b"\xff"  # invalid UTF-8 is replaced, then folded
    assert one_line(raw) == " ".join(raw.decode("utf-8", "replace").split())


def _wire(*, pipelining: bool, eight_bit_mime: bool, smtputf8: bool) -> Any:
    return SimpleNamespace(pipelining=pipelining, eight_bit_mime=eight_bit_mime, smtputf8=smtputf8)


@pytest.mark.parametrize("pipelining", [False, True])
@pytest.mark.parametrize("eight_bit_mime", [False, True])
@pytest.mark.parametrize("smtputf8", [False, True])
def test_envelope_commands_for_every_kind_of_message(
    pipelining: bool, eight_bit_mime: bool, smtputf8: bool
) -> None:
    """MAIL FROM's options follow each message (SMTPUTF8 first, then BODY=8BITMIME), even
    though the last command is kept; non-ASCII addresses without SMTPUTF8 are refused."""
    wire = _wire(pipelining=pipelining, eight_bit_mime=eight_bit_mime, smtputf8=smtputf8)
    maker = EnvelopeMaker()
    cases = [
        ("news@asso.example", "a@example.org", [b"plain\r\n", b".\r\n"]),
        ("news@asso.example", "b@example.org", [b"\xc3\xa9t\xc3\xa9\r\n", b".\r\n"]),
        ("news@asso.example", "c@example.org", b"plain again\r\n.\r\n"),
        ("news@asso.example", "d\u00e9@exemple.fr", [b"plain\r\n.\r\n"]),
        ("nouvelles@asso\u00e9.example", "e@example.org", [b"\xc3\xa9\r\n.\r\n"]),
        ("bounces+x@asso.example", "f@example.org", [b"plain\r\n.\r\n"]),
        ("", "g@example.org", [b"plain\r\n.\r\n"]),
    ]
    for sender, recipient, payload in cases:
        envelope = maker.make(wire, sender, recipient, payload)
        pieces = [payload] if isinstance(payload, bytes) else payload
        utf8 = not (sender.isascii() and recipient.isascii())
        if utf8 and not smtputf8:
            assert isinstance(envelope, SendResult) and envelope.code == 553
            continue
        assert not isinstance(envelope, SendResult)
        options = ["SMTPUTF8"] if utf8 else []
        if eight_bit_mime and not all(piece.isascii() for piece in pieces):
            options.append("BODY=8BITMIME")
        encoding = "utf-8" if utf8 else "ascii"
        suffix = "".join(f" {option}" for option in options)
        mail = f"MAIL FROM:{envelope_path(sender)}{suffix}\r\n".encode(encoding)
        rcpt = f"RCPT TO:{envelope_path(recipient)}\r\n".encode(encoding)
        assert envelope.sender == sender and envelope.payload == pieces
        if pipelining:
            assert (envelope.first, envelope.unsent, envelope.expected) == (
                mail + rcpt + b"DATA\r\n",
                (),
                3,
            )
        else:
            assert (envelope.first, envelope.unsent, envelope.expected) == (
                mail,
                (rcpt, b"DATA\r\n"),
                1,
            )
