"""Trend Micro InterScan Messaging Security Suite notifications ("Mail could not be delivered").

A text part framed by ``*****`` lines: ``Message from InterScan Messaging Security Suite``,
then ``Unable to deliver message to <addr> (and other recipients in the same domain).``,
optionally after ``Reason:``; the original follows as message/rfc822.
"""

from __future__ import annotations

import re

from mailbounce.bounces._addressblocks import sentences, with_sentence_reason
from mailbounce.bounces._mailtexts import body_text
from mailbounce.bounces._markers import BODY, Marker, Markers
from mailbounce.bounces._textblocks import make_facts
from mailbounce.bounces.base import Mail
from mailbounce.lazy_patterns import lazy_compile
from mailbounce.models import BounceFacts, Reason

_MARKER = lazy_compile(r"InterScan", re.I)
# A line naming a refused address: InterScan words it around "deliver" ("Unable to deliver
# message to <addr>", "could not be delivered to <addr>").
_FAILURE = lazy_compile(
    r"^\s*(?:Reason:\s*)?(.*?\bdeliver.*?<([^<>\s@]+@[^<>\s@]+)>.*)$", re.I | re.M
)

# InterScan writes this sentence when the recipient's server refused the address.
_SENTENCES = sentences(
    (r"Unable to deliver message to", Reason.USERUNKNOWN, False),
    (r"message size|too large", Reason.MESGTOOBIG, False),
)


class TrendMicroDetector:
    """InterScan MSS bounces: one line per refused recipient (or recipient domain)."""

    name = "trendmicro"

    # The first test of ``detect``, as data: False only when it surely finds nothing.
    gate = Markers(
        Marker("From", _MARKER),
        Marker(BODY, _MARKER, 400),
    )

    def detect(self, mail: Mail) -> list[BounceFacts] | None:
        text = body_text(mail)
        if not (_MARKER.search(mail.sender) or _MARKER.search(text[:400])):
            return None
        found = [
            # InterScan relays the recipient server's refusal of the address (RCPT TO): its
            # "Please check if address is correct" is about the mailbox, not a filter.
            with_sentence_reason(
                make_facts(m.group(2), m.group(1), smtp_command="RCPT"), _SENTENCES
            )
            for m in _FAILURE.finditer(text)
        ]
        return found or None


DETECTOR = TrendMicroDetector()
