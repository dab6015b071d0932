"""Microsoft 365 / Exchange Online non-delivery reports ("Undeliverable: ...").

From ``postmaster@*.onmicrosoft.com`` / ``postmaster@outlook.com`` ("Microsoft Outlook"), with
``X-MS-Exchange-Message-Is-Ndr``. The text has "Diagnostic information for administrators:",
``Generating server: *.prod.outlook.com``, then per recipient the address alone on a line and
``Remote Server returned '550 5.1.10 RESOLVER.ADR.RecipientNotFound; ...'``. Most reports
also carry a message/delivery-status part, reused as is. Exchange Online's own enhanced codes
(``5.4.316``, ``5.7.509``, documented by Microsoft) name the reason themselves.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from mailbounce.bounces._addressblocks import sentences, with_sentence_reason
from mailbounce.bounces._mailtexts import (
    NOT_FOLDED,
    body_lowered,
    body_search,
    body_text,
    received_mentions,
)
from mailbounce.bounces._markers import PRESENT, Marker, Markers
from mailbounce.bounces._textblocks import make_facts, with_dsn
from mailbounce.bounces.base import Mail
from mailbounce.lazy_patterns import lazy_compile
from mailbounce.models import BounceFacts, Reason

_CLOUD = lazy_compile(r"outlook\.com|onmicrosoft\.com|office365|exchangelabs", re.I)
_GENERATING = lazy_compile(r"^Generating server:\s*([\w.-]+)\s*$", re.I | re.M)
_RECIPIENT_REPLY = lazy_compile(
    r"^\s*([^\s<>@]+@[\w.-]+\w)\s*\n\s*Remote Server returned '(.+?)'\s*$", re.I | re.M
)
# Exchange Online relays the remote refusal of RCPT TO in these words.
_AT_RCPT = lazy_compile(r"unknown recipient or mailbox unavailable\s*->", re.I)

# Microsoft's own texts and enhanced codes (Exchange Online NDR reference).
_SENTENCES = sentences(
    (
        r"RESOLVER\.ADR\.Recip(ient)?NotFound|not found by SMTP address lookup",
        Reason.USERUNKNOWN,
        True,
    ),
    (r"\b[45]\.4\.312\b|DNS query failed", Reason.NETWORKERROR, True),
    (r"\b[45]\.4\.316\b|Message expired", Reason.EXPIRED, True),
    (r"\b5\.7\.509\b|does not pass DMARC", Reason.AUTHFAILURE, True),
    (r"\b5\.7\.50[1-3]\b", Reason.SPAMDETECTED, True),
    (r"\b5\.7\.50[4-8]\b", Reason.FILTERED, True),
    (r"\b5\.7\.510\b", Reason.NOTACCEPT, True),
    (r"\b[45]\.7\.(?:[56]\d\d|8[5-9]\d)\b", Reason.BLOCKED, True),
    (r"\b5\.7\.7\d\d\b", Reason.TOOMANYCONN, True),
)


def _reviewed(facts: BounceFacts) -> BounceFacts:
    if facts.smtp_command is None and _AT_RCPT.search(facts.diagnostic):
        facts = facts.amended(smtp_command="RCPT")
    return with_sentence_reason(facts, _SENTENCES)


def _recipient_replies(mail: Mail, text: str) -> Iterator[re.Match[str]]:
    """``_RECIPIENT_REPLY.finditer(text)``, the regex tried only at the line starts just
    before each "Remote Server returned '" (found in the body lower-cased once), not at
    every character of the body.

    A match is blanks from a line start, an address (no blank in it), blanks with a line
    break, then those words: it starts after the blanks before the address in front of
    them, and no later than the words. The next match is looked for from the end of the
    previous one, as ``finditer`` does.
    """
    lowered = body_lowered(mail, text)
    if lowered is NOT_FOLDED or len(lowered) != len(text):
        yield from _RECIPIENT_REPLY.finditer(text)
        return
    pos = 0
    at = lowered.find(_RETURNED)
    while at != -1:
        start = at
        while start > pos and text[start - 1].isspace():
            start -= 1
        while start > pos and not text[start - 1].isspace():
            start -= 1
        while start > pos and text[start - 1].isspace():
            start -= 1
        match = None
        if start != 0 and text[start - 1] != "\n":  # ``^``: the first line start from there
            start = text.find("\n", start, at) + 1 or at + 1
        while match is None and start <= at:
            match = _RECIPIENT_REPLY.match(text, start)
            start = text.find("\n", start, at) + 1 or at + 1
        if match is not None:
            yield match
            pos = match.end()
        at = lowered.find(_RETURNED, max(pos, at + 1))


_RETURNED = "remote server returned '"


class Office365Detector:
    """Exchange Online NDRs: the report part when present, the diagnostic section else."""

    name = "office365"

    # The first test of ``detect``, as data: False only when it surely finds nothing.
    gate = Markers(
        Marker("X-MS-Exchange-Message-Is-Ndr", PRESENT),
        Marker("From", _CLOUD),
    )

    def detect(self, mail: Mail) -> list[BounceFacts] | None:
        if "X-MS-Exchange-Message-Is-Ndr" not in mail.msg and not _CLOUD.search(mail.sender):
            return None
        text = body_text(mail)
        generating = body_search(mail, _GENERATING)  # tried where its words are (round 5)
        cloud = _CLOUD.search(mail.sender) or received_mentions(mail, _CLOUD)
        if not (cloud or (generating and _CLOUD.search(generating.group(1)))):
            return None
        reporter = generating.group(1) if generating else None
        from_text = [
            make_facts(m.group(1), m.group(2), reporting_mta=reporter)
            for m in _recipient_replies(mail, text)
        ]
        return [_reviewed(f) for f in with_dsn(mail, from_text)] or None


DETECTOR = Office365Detector()
