"""Amazon SES *receiving* bounces: a receipt rule's "Bounce" action refused the message.

Reported by ``inbound-smtp.REGION.amazonaws.com`` (RFC 3464 report, ``X-SES-Outgoing``).
The reply is one of the presets the domain owner picked for the rule, not a verdict on the
mailbox: "Mailbox does not exist" (550 5.1.1) is a rule filtering the message, "Temporary
failure" and "Unknown failure" carry no cause. The report is reused.
"""

from __future__ import annotations

import re

from mailbounce.bounces._addressblocks import sentences, with_sentence_reason
from mailbounce.bounces._markers import PRESENT, Marker, Markers
from mailbounce.bounces.base import Mail
from mailbounce.bounces.rfc3464 import parse_delivery_status
from mailbounce.lazy_patterns import lazy_compile
from mailbounce.models import BounceFacts, Reason

_INBOUND = lazy_compile(r"inbound-smtp\.[\w-]+\.amazonaws\.com", re.I)

# Amazon SES receipt-rule bounce presets (SES Developer Guide, "Bounce action").
_SENTENCES = sentences(
    (r"Mailbox does not exist", Reason.FILTERED, True),
    (r"Message too large", Reason.MESGTOOBIG, True),
    (r"Mailbox full", Reason.MAILBOXFULL, True),
    (r"Message content rejected", Reason.CONTENTERROR, True),
    (r"Unknown failure|Temporary failure", Reason.ONHOLD, True),
)


class ReceivingSesDetector:
    """Amazon SES inbound (receipt rule) bounces."""

    name = "receivingses"

    # The first test of ``detect``, as data.
    gate = Markers(Marker("X-SES-Outgoing", PRESENT))

    def detect(self, mail: Mail) -> list[BounceFacts] | None:
        if "X-SES-Outgoing" not in mail.msg:
            return None
        reported = parse_delivery_status(mail) or []
        found = [
            with_sentence_reason(f, _SENTENCES)
            for f in reported
            if _INBOUND.search(f.reporting_mta or "") or _INBOUND.search(f.remote_mta or "")
        ]
        return found or None


DETECTOR = ReceivingSesDetector()
