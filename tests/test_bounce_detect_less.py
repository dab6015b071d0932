"""Session 9: work the matching detectors skip gives what the long way gave (issue 3).

Each shortcut is compared with the code it replaced, kept here as the reference, on every
project sample and on generated input.
"""

from __future__ import annotations

from email.message import Message
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from mailbounce.bounces import postfix
from mailbounce.bounces._addressblocks import address_blocks
from mailbounce.bounces._fastparse import parse_message
from mailbounce.bounces._mailtexts import body_text
from mailbounce.bounces._transcript import _QUOTED_MARKER, _has_quoted_marker
from mailbounce.bounces.base import Mail
from mailbounce.bounces.rfc3464 import (
    _DSN_TYPES,
    find_command,
    parse_delivery_status,
    parse_inline_delivery_status,
)
from mailbounce.models import BounceFacts

DATA = Path(__file__).resolve().parent / "data"


def _mails() -> list[Mail]:
    mails = []
    for path in sorted(DATA.rglob("*.eml")):
        msg = parse_message(path.read_bytes().replace(b"\r\n", b"\n"))
        if msg is not None:
            mails.append(Mail(msg))
    assert len(mails) > 50
    return mails


def _has_postfix_field_before(part: Message) -> bool:
    payload = part.get_payload()
    if isinstance(payload, str):
        return "X-Postfix-" in payload
    return any(
        name.lower().startswith("x-postfix-")
        for block in payload
        if isinstance(block, Message)
        for name in block
    )


def _with_text_before(reported: list[BounceFacts], blocks: dict[str, str]) -> list[BounceFacts]:
    found: list[BounceFacts] = []
    for facts in reported:
        block = blocks.get(facts.recipient.lower(), "")
        command = facts.smtp_command or find_command(block) or find_command(facts.diagnostic)
        if command == facts.smtp_command and (facts.diagnostic or not block):
            found.append(facts)
            continue
        found.append(facts.amended(smtp_command=command, diagnostic=facts.diagnostic or block))
    return found


def test_postfix_fields_found_as_before_on_the_project_samples() -> None:
    asked = 0
    for mail in _mails():
        for part, kind in mail.parts():
            if kind in _DSN_TYPES:
                asked += 1
                assert postfix._has_postfix_field(part) is _has_postfix_field_before(part)
    assert asked > 20


_NAMES = st.sampled_from(
    ["X-Postfix-Queue-ID", "x-postfix-sender", "X-POSTFIX-", "X-Postfix", "Final-Recipient"]
) | st.text(alphabet="xX-pPostfiKſı:İ", max_size=12)


@settings(max_examples=500, deadline=None)
@given(st.lists(st.lists(_NAMES, max_size=5), max_size=4))
def test_postfix_fields_found_as_before_on_generated_names(groups: list[list[str]]) -> None:
    part = Message()
    part.set_type("message/delivery-status")
    blocks = []
    for names in groups:
        block = Message()
        for name in names:
            block._headers.append((name, "value"))  # type: ignore[attr-defined]
        blocks.append(block)
    part.set_payload(blocks)
    assert postfix._has_postfix_field(part) is _has_postfix_field_before(part)


def test_postfix_text_completes_groups_as_before_on_the_project_samples() -> None:
    completed = 0
    for mail in _mails():
        reported = parse_delivery_status(mail) or parse_inline_delivery_status(mail)
        if not reported:
            continue
        text = body_text(mail)
        blocks = dict(address_blocks(text, blank_ends_block=True))
        assert postfix._completed(reported, text) == _with_text_before(reported, blocks)
        completed += 1
    assert completed > 50


def _same_quoted_marker(text: str) -> None:
    assert _has_quoted_marker(text) is (_QUOTED_MARKER.search(text) is not None), repr(text)


def test_quoted_marker_as_searched_on_the_project_samples() -> None:
    for mail in _mails():
        text = body_text(mail)
        _same_quoted_marker(text)
        _same_quoted_marker(">" + text)


@settings(max_examples=1500, deadline=None)
@given(st.lists(st.sampled_from([">", "> ", "-", "---", "\n", " ", "\t", "x"]), max_size=12))
def test_quoted_marker_as_searched_on_generated_text(pieces: list[str]) -> None:
    _same_quoted_marker("".join(pieces))
