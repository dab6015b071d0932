"""Postfix bounces ("Undelivered Mail Returned to Sender"), current and pre-2.x.

``This is the mail system at host HOST.`` (``This is the Postfix program at host HOST.``
before 2.x), then one block per recipient, ended by a blank line::

    <kijitora@example.org> (expanded from <alias@example.org>): host
        mx.example.org[192.0.2.1] said: 550 5.1.1 <kijitora@example.org>: Recipient
        address rejected: User unknown (in reply to RCPT TO command)

Since 2.x a message/delivery-status part carries the same facts: its groups are reused and
the text adds the SMTP command (``in reply to ... command``). Pre-2.x bounces, ISP-rewritten
leads and bounces forwarded as plain text are read from the blocks alone.
``Postfix SMTP server: errors from HOST`` postmaster notices are read from their In:/Out:
session transcript.
"""

from __future__ import annotations

import re
from email.message import Message

from mailbounce.bounces._addressblocks import address_blocks, block_facts, inline_statuses
from mailbounce.bounces._mailtexts import body_search, body_text
from mailbounce.bounces._markers import Marker, Markers
from mailbounce.bounces._textblocks import make_facts
from mailbounce.bounces.base import Mail
from mailbounce.bounces.rfc3464 import (
    _DSN_TYPES,
    find_command,
    parse_delivery_status,
    parse_inline_delivery_status,
)
from mailbounce.lazy_patterns import lazy_compile
from mailbounce.models import BounceFacts

_LEAD = lazy_compile(
    r"This is the (?:Postfix program|mail system) at host ([\w.-]+?)\.?\s*$", re.I | re.M
)
_SUBJECT = lazy_compile(
    r"Undelivered Mail Returned to Sender|Delayed Mail \(still being retried\)"
    r"|Postfix SMTP server: errors from",
    re.I,
)
_SENDER = lazy_compile(r"\(Mail Delivery System\)|MAILER-DAEMON", re.I)
_SERVER_NOTICE = lazy_compile(r"Postfix SMTP server: errors from", re.I)
_SMTP_IN = lazy_compile(r"^\s*In:\s+(\S+)(.*)$")
_SMTP_OUT_ERROR = lazy_compile(r"^\s*Out:\s+([45]\d\d\b.*)$")
_RCPT_TO = lazy_compile(r"TO:\s*<([^<>\s]+@[^<>\s]+)>", re.I)


def _completed(reported: list[BounceFacts], text: str) -> list[BounceFacts]:
    """``_with_text`` of the report's groups and the body's blocks, which are read only when
    a group lacks its command or its diagnostic (most Postfix groups lack the command)."""
    if all(facts.smtp_command and facts.diagnostic for facts in reported):
        return reported  # what ``_with_text`` gives them: the same facts
    return _with_text(reported, dict(address_blocks(text, blank_ends_block=True)))


def _with_text(reported: list[BounceFacts], blocks: dict[str, str]) -> list[BounceFacts]:
    """DSN groups completed by their text block: the command the failure answered."""
    found: list[BounceFacts] = []
    for facts in reported:
        block = blocks.get(facts.recipient.lower(), "")
        # A group's own command is ``find_command`` of its diagnostic (``facts_from_fields``):
        # without one there, only the block can name it.
        command = facts.smtp_command or find_command(block)
        if command == facts.smtp_command and (facts.diagnostic or not block):
            found.append(facts)  # the group said both already (most do): no copy to make
            continue
        found.append(facts.amended(smtp_command=command, diagnostic=facts.diagnostic or block))
    return found


def _postfix_report(mail: Mail) -> bool:
    """Whether a report part carries Postfix's own fields (``X-Postfix-Queue-ID``)."""
    if mail.msg.get_content_type() != "multipart/report":
        return False
    # ``delivery_status_parts(mail.msg)``, from the parts listed once per message.
    return any(_has_postfix_field(part) for part, kind in mail.parts() if kind in _DSN_TYPES)


def _has_postfix_field(part: Message) -> bool:
    """Field names only: ``as_string()`` would refold every header, quadratic in its length."""
    payload = part.get_payload()
    if isinstance(payload, str):
        return "X-Postfix-" in payload
    # Whether a name starts with "x-postfix-" (any case), asked of the names joined by ":",
    # which a parsed field name does not hold (the parser ends a name at its first colon):
    # one ``in`` for the report, not a generator step and a copy per name (most reports
    # asked are other MTAs', issue 3 session 9). A name with a colon is asked on its own.
    names: list[str] = []
    for block in payload:
        if isinstance(block, Message):
            names += block.keys()  # a list made in one step (iterating a Message is a generator)
    joined = ":".join(names)
    if joined.count(":") != len(names) - 1 and names:
        return any(name.lower().startswith("x-postfix-") for name in names)
    return ":x-postfix-" in ":" + joined.lower()


def _server_notice(text: str) -> list[BounceFacts]:
    """``Postfix SMTP server: errors from``: the recipients the failed session was for."""
    recipients: list[str] = []
    command: str | None = None
    error: tuple[str, str | None] | None = None
    for line in text.split("\n"):
        sent = _SMTP_IN.match(line)
        if sent:
            command = sent.group(1).upper()
            rcpt = _RCPT_TO.search(line)
            if command == "RCPT" and rcpt:
                recipients.append(rcpt.group(1))
            continue
        refused = _SMTP_OUT_ERROR.match(line)
        if refused and error is None:
            error = (refused.group(1), command)
    if error is None:
        return []
    return [make_facts(r, error[0], smtp_command=error[1]) for r in dict.fromkeys(recipients)]


class PostfixDetector:
    """Postfix bounces, delay warnings and SMTP server error notices."""

    name = "postfix"

    # The first test of ``detect``, as data: False only when it surely finds nothing.
    gate = Markers(
        Marker("Subject", _SUBJECT),
        Marker("From", _SENDER),
    )

    def detect(self, mail: Mail) -> list[BounceFacts] | None:
        subject = mail.subject
        if not (_SUBJECT.search(subject) or _SENDER.search(mail.sender)):
            return None
        text = body_text(mail)
        if _SERVER_NOTICE.search(subject):
            return _server_notice(text) or None
        lead = body_search(mail, _LEAD)  # ``_LEAD.search(text)``, tried where its words are
        if lead is None and not _postfix_report(mail):
            # Others copy the subject (SendGrid); the lead is Postfix's unless a site template
            # rewrote it (its report part still names Postfix).
            return None
        reported = parse_delivery_status(mail) or parse_inline_delivery_status(mail)
        if reported:
            return _completed(reported, text)
        blocks = address_blocks(text, blank_ends_block=True)
        reporter = lead.group(1) if lead else None
        statuses = inline_statuses(text)
        found = [
            f.amended(
                smtp_command=find_command(f.diagnostic) or f.smtp_command,
                status=f.status or statuses.get(f.recipient),
            )
            for f in block_facts(blocks, reporting_mta=reporter)
        ]
        return found or None


DETECTOR = PostfixDetector()
