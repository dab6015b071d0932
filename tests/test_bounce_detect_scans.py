"""Session 8 shortcuts of the matching detectors give what the long way gave (issue 3).

Each is compared with the code it replaced, kept here as the reference, on generated text
built from the pieces the layouts are made of (so the interesting cases are frequent).
"""

from __future__ import annotations

import dataclasses
import inspect
import re
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mailbounce.bounces import exchange2007, office365
from mailbounce.bounces._addressblocks import _BLOCK_HEAD, _EXPANDED_FOLD, address_blocks
from mailbounce.bounces._fastparse import parse_message
from mailbounce.bounces._mailtexts import body_text
from mailbounce.bounces._prefilter import search_text
from mailbounce.bounces._textblocks import cut_at, squeeze
from mailbounce.bounces._transcript import _QUOTE, _QUOTED_MARKER, unquote
from mailbounce.bounces.base import Mail
from mailbounce.bounces.rfc3464 import (
    _COMMAND,
    _COMMAND_NAMES,
    _FIELD,
    _blocks_from_text,
    find_command,
)
from mailbounce.models import BounceFacts, Reason

_PIECES = st.sampled_from(
    [
        "\n",
        "\n\n",
        " ",
        "\t",
        "  ",
        "jo@example.org",
        "<jo@example.org>",
        "<jo@example.org>: ",
        "<al@example.net> (expanded from\n <x@example.net>): ",
        "(expanded from  ",
        "Remote Server returned '550 5.1.1 unknown'",
        "remote server RETURNED '",
        "'",
        "> ",
        ">---- Transcript ----",
        "> ----- x -----",
        "in reply to RCPT TO command",
        "IN REPLY TO end of DATA",
        "after MAIL FROM",
        "After pipelined DATA",
        "after",
        "é",
        "ſ",
        "K",
        "ı",
        "x",
        "550 5.1.1",
    ]
)
_TEXTS = st.lists(_PIECES, max_size=30).map("".join)


def _old_find_command(text: str) -> str | None:
    match = search_text(_COMMAND, text)
    if match is None:
        return None
    words = (match.group(1) or match.group(2)).lower()
    if words.startswith("pipelined"):
        words = words.split()[-1]
    return _COMMAND_NAMES.get(words, words.upper())


@settings(max_examples=400, deadline=None)
@given(_TEXTS)
def test_find_command_as_before(text: str) -> None:
    assert find_command(text) == _old_find_command(text)


def _old_unquote(text: str) -> str:
    return _QUOTE.sub("", text) if _QUOTED_MARKER.search(text) else text


@settings(max_examples=400, deadline=None)
@given(_TEXTS)
def test_unquote_as_before(text: str) -> None:
    assert unquote(text) == _old_unquote(text)


def _old_address_blocks(text: str, *, blank_ends_block: bool = False) -> list[tuple[str, str]]:
    blocks: list[tuple[str, list[str]]] = []
    open_block = False
    for line in _EXPANDED_FOLD.sub("(expanded from ", text).split("\n"):
        head = _BLOCK_HEAD.match(line) if line.startswith("<") else None
        if head:
            blocks.append((head.group(1).strip().lower(), [head.group(2)]))
            open_block = True
        elif blank_ends_block and not line.strip():
            open_block = False
        elif blocks and open_block:
            blocks[-1][1].append(line)
    return [(rcpt, squeeze("\n".join(lines))) for rcpt, lines in blocks]


@settings(max_examples=400, deadline=None)
@given(_TEXTS, st.booleans())
def test_address_blocks_as_before(text: str, blank_ends_block: bool) -> None:
    assert address_blocks(text, blank_ends_block=blank_ends_block) == _old_address_blocks(
        text, blank_ends_block=blank_ends_block
    )


def _mail_with_body(body: str) -> Mail:
    raw = b"From: postmaster@outlook.com\nSubject: Undeliverable\n"
    raw += b"Content-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: 8bit\n\n"
    msg = parse_message(raw + body.encode("utf-8"))
    assert msg is not None
    return Mail(msg)


def _spans(matches: object) -> list[tuple[tuple[int, int], tuple[str | None, ...]]]:
    return [(m.span(), m.groups()) for m in matches]  # type: ignore[attr-defined]


@settings(max_examples=400, deadline=None)
@given(_TEXTS)
def test_office365_replies_as_finditer(body: str) -> None:
    mail = _mail_with_body(body)
    text = body_text(mail)
    found = _spans(office365._recipient_replies(mail, text))
    assert found == _spans(office365._RECIPIENT_REPLY.finditer(text))


def test_office365_replies_found_where_the_layout_has_them() -> None:
    body = (
        "Delivery has failed to these recipients or groups:\n\n"
        "Diagnostic information for administrators:\n\n"
        "jo@example.org\nRemote Server returned '550 5.1.10 RESOLVER.ADR.RecipientNotFound'\n"
        "\n  al@example.net  \n\n  remote server returned '452 4.2.2 full'  \n"
        "x@y.z Remote Server returned 'not on its own line'\n"
    )
    mail = _mail_with_body(body)
    text = body_text(mail)
    found = list(office365._recipient_replies(mail, text))
    assert [m.group(1) for m in found] == ["jo@example.org", "al@example.net"]
    assert _spans(found) == _spans(office365._RECIPIENT_REPLY.finditer(text))
    assert re.search("RecipientNotFound", found[0].group(2))


_EXCHANGE_PIECES = st.sampled_from(
    [
        "\n",
        "\n\n",
        " ",
        "  ",
        "\t",
        ":",
        "Original message headers:",
        "En-têtes du message d'origine :",
        "Generating server: mx1.example.org",
        "Serveur de génération : mail.example.fr",
        "ab",
        "jo@example.org",
        "Received: from x",
        "Return-Path: <a@b.c>",
        "From: a",
        "Date: today",
        "received:",
        "x" * 58,
    ]
)
_EXCHANGE_TEXTS = st.lists(_EXCHANGE_PIECES, max_size=30).map("".join)


@settings(max_examples=500, deadline=None)
@given(_EXCHANGE_TEXTS)
def test_exchange2007_cut_and_generating_line_as_before(text: str) -> None:
    assert exchange2007._before_original(text) == cut_at(text, exchange2007._ORIGINAL)
    found = exchange2007._generating(text)
    expected = exchange2007._GENERATING.search(text)
    assert (found and (found.span(), found.groups())) == (
        expected and (expected.span(), expected.groups())
    )


_FULL_FACTS = BounceFacts(
    recipient="jo@example.org",
    action="failed",
    status="5.1.1",
    replycode="550",
    diagnostic="550 5.1.1 unknown",
    remote_mta="mx.example.org",
    reporting_mta="relay.example.net",
    feedback_type="abuse",
    reason_hint=Reason.USERUNKNOWN,
    smtp_command="RCPT",
    diagnostic_type="smtp",
)
_OTHER_VALUES: dict[str, Any] = {
    "action": "delayed",
    "status": "4.2.2",
    "replycode": "452",
    "diagnostic": "452 4.2.2 full",
    "remote_mta": None,
    "reporting_mta": None,
    "feedback_type": None,
    "reason_hint": Reason.MAILBOXFULL,
    "smtp_command": None,
    "diagnostic_type": None,
}


def test_amended_names_every_field_but_the_recipient() -> None:
    names = [f.name for f in dataclasses.fields(BounceFacts) if f.init]
    assert names[0] == "recipient"
    assert (
        list(inspect.signature(BounceFacts.amended).parameters)[1:]
        == names[1:]
        == list(_OTHER_VALUES)
    )


@pytest.mark.parametrize("name", list(_OTHER_VALUES))
def test_amended_is_replace(name: str) -> None:
    value = _OTHER_VALUES[name]
    assert _FULL_FACTS.amended(**{name: value}) == dataclasses.replace(_FULL_FACTS, **{name: value})
    assert _FULL_FACTS.amended() == _FULL_FACTS
    everything = dataclasses.replace(_FULL_FACTS, **_OTHER_VALUES)
    assert _FULL_FACTS.amended(**_OTHER_VALUES) == everything
    assert everything.amended(**{name: getattr(_FULL_FACTS, name)}) == dataclasses.replace(
        everything, **{name: getattr(_FULL_FACTS, name)}
    )


def _old_blocks_from_text(text: str) -> list[dict[str, str]]:
    blocks: list[dict[str, str]] = []
    current: dict[str, str] = {}
    last = ""
    for line in text.split("\n"):
        if not line.strip():
            if current:
                blocks.append(current)
                current, last = {}, ""
            continue
        if line[0] in " \t" and last:
            current[last] += " " + line.strip()
            continue
        match = _FIELD.match(line)
        if match:
            last = match.group(1).lower()
            current[last] = match.group(2)
    if current:
        blocks.append(current)
    return blocks


_FIELD_PIECES = st.sampled_from(
    [
        "\n",
        "\n\n",
        " ",
        "\t",
        "\x0b",
        "\u2003",
        "Final-Recipient: rfc822; a@b.c",
        "Status:5.1.1",
        "X-Field :",
        "not a field",
        "9bad: x",
        "a:",
        ":",
        "  continued",
        "é",
    ]
)


@settings(max_examples=400, deadline=None)
@given(st.lists(_FIELD_PIECES, max_size=25).map("".join))
def test_blocks_from_text_as_before(text: str) -> None:
    assert _blocks_from_text(text) == _old_blocks_from_text(text)
