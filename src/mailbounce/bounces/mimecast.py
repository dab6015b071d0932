"""Mimecast gateway non-delivery notifications.

Layout: sent by the Mimecast gateway (``Received: from ... mimecast.com``, ``X-MC-Unique`` /
``X-Mimecast-*`` headers, From postmaster or "Mimecast Postmaster"); a text/plain and HTML
pair "Your message couldn't be delivered" / "The below message could not be delivered" with
field lines "Recipient: addr" (or "To: addr"), "Reason: ..." / "Error: ..." / "Details: 550
5.1.1 ...". Some versions add a message/delivery-status part.
"""

from __future__ import annotations

import re

from mailbounce.bounces import _mailtexts as mt
from mailbounce.bounces import _textblocks as tb
from mailbounce.bounces._markers import PRESENT, RECEIVED, Marker, Markers
from mailbounce.bounces.base import Mail
from mailbounce.lazy_patterns import lazy_compile
from mailbounce.models import BounceFacts

_MARK = lazy_compile(r"mimecast", re.I)
_LEAD = lazy_compile(
    r"could ?n[o']t be delivered|undeliverable|delivery (has )?failed|not delivered", re.I
)
_RECIPIENT = lazy_compile(
    r"^\s*(?:Recipients?|To|Failed recipient)\s*:\s*<?(\S+@[^>\s]+)>?", re.I | re.M
)
_BLOCK = lazy_compile(r"(?=^\s*(?:Recipients?|To|Failed recipient)\s*:)", re.I | re.M)
# The summary of the returned message (its own "To:" is not a failed recipient).
_ORIGINAL = lazy_compile(r"^\s*(-{3,} ?)?(Original message|Message details)\b", re.I | re.M)
# The gateway checks each recipient against its directory while the envelope is given: its
# "Invalid Recipient" is an answer to RCPT TO, not a filter's verdict on the content.
_RCPT = "RCPT"
_FIELD = lazy_compile(r"^\s*(Reason|Error|Details|Diagnostic|Response)\s*:\s*(.+)$", re.I | re.M)


class MimecastDetector:
    """Mimecast's own non-delivery notice."""

    name = "mimecast"

    # The first test of ``detect``, as data: False only when it surely finds nothing.
    gate = Markers(
        Marker("From", _MARK),
        Marker("X-MC-Unique", PRESENT),
        Marker(RECEIVED, _MARK),
    )

    def detect(self, mail: Mail) -> list[BounceFacts] | None:
        if not (
            _MARK.search(mail.sender)
            or mail.header("X-MC-Unique")
            or mt.received_mentions(mail, _MARK)
        ):
            return None
        text = mt.body_text(mail)
        if not _LEAD.search(text[:2000] + mail.subject):
            return None
        text = tb.cut_at(text, _ORIGINAL)
        facts: dict[str, BounceFacts] = {}
        for block in _BLOCK.split(text):
            recipient = _RECIPIENT.search(block)
            if recipient is None or recipient.group(1).lower() in facts:
                continue
            words = " ".join(m.group(2) for m in _FIELD.finditer(block))
            facts[recipient.group(1).lower()] = tb.make_facts(
                recipient.group(1), words, smtp_command=_RCPT
            )
        if not facts:  # a layout without labelled fields: the failed-recipients header
            words = " ".join(m.group(2) for m in _FIELD.finditer(text))
            for address in tb.ADDRESS.findall(mail.header("X-Failed-Recipients")):
                facts[address.lower()] = tb.make_facts(address, words, smtp_command=_RCPT)
        return tb.with_dsn(mail, list(facts.values()), text_required=True) or None


DETECTOR = MimecastDetector()
