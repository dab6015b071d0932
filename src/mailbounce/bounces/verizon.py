"""Verizon Wireless MMS/SMS gateway bounces (vzwpix.com MMSC, vtext.com SMS).

MMSC: ``Message could not be delivered to mobile.`` / ``Error: No valid recipients for this
MM``, then ``Original Message:`` with the original ``To:``. The SMS gateway writes
``Error: <text>`` the same way. The recipient is the original ``To:`` address.
"""

from __future__ import annotations

import re

from mailbounce.bounces._addressblocks import original_recipients, sentences, with_sentence_reason
from mailbounce.bounces._mailtexts import body_text
from mailbounce.bounces._markers import BODY, Marker, Markers
from mailbounce.bounces._textblocks import make_facts
from mailbounce.bounces.base import Mail
from mailbounce.lazy_patterns import lazy_compile
from mailbounce.models import BounceFacts, Reason

_SENDER = lazy_compile(r"@(?:[\w-]+\.)*(?:vzwpix|vtext|vzw)\.com\b", re.I)
_LEAD = lazy_compile(r"could not be delivered to mobile", re.I)
# ``Error: text``, the text folded onto indented lines or alone on the next line.
_ERROR = lazy_compile(r"^\s*Error:[ \t]*(?:\n[ \t]*)?(\S.*(?:\n[ \t]+\S.*)*)", re.I | re.M)
_ORIGINAL = lazy_compile(r"^\s*Original Message:?\s*$", re.I | re.M)

_SENTENCES = sentences(
    (r"No valid recipients|no such user|invalid recipient", Reason.USERUNKNOWN, True),
)


class VerizonDetector:
    """Verizon MMSC / SMS gateway bounces."""

    name = "verizon"

    # The first tests of ``detect``, as data: False only when it surely finds nothing.
    gate = Markers(
        Marker("From", _SENDER),
        also=Markers(Marker(BODY, _LEAD), Marker(BODY, _ERROR)),
    )

    def detect(self, mail: Mail) -> list[BounceFacts] | None:
        text = body_text(mail)
        if not (_SENDER.search(mail.sender) and (_LEAD.search(text) or _ERROR.search(text))):
            return None
        original = _ORIGINAL.search(text)
        recipients = original_recipients(text[original.end() :] if original else text)
        error = _ERROR.search(text)
        diagnostic = error.group(1) if error else ""
        found = [
            with_sentence_reason(make_facts(rcpt, diagnostic), _SENTENCES) for rcpt in recipients
        ]
        return found or None


DETECTOR = VerizonDetector()
