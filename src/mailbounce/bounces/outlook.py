"""Outlook.com / Hotmail (consumer) delivery status notifications.

Sent by ``postmaster@mail.hotmail.com`` / ``postmaster@*.outlook.com`` with Hotmail's
``X-Message-Delivery`` and ``X-Message-Info`` headers; an RFC 3464 report whose diagnostic
is Hotmail's own sentence. The report is reused; Hotmail's sentences name the reason.
"""

from __future__ import annotations

import re

from mailbounce.bounces._addressblocks import sentences, with_sentence_reason
from mailbounce.bounces._markers import PRESENT, Marker, Markers
from mailbounce.bounces.base import Mail
from mailbounce.bounces.rfc3464 import parse_delivery_status
from mailbounce.lazy_patterns import lazy_compile
from mailbounce.models import BounceFacts, Reason

_SENDER = lazy_compile(r"postmaster@(?:[\w-]+\.)*(?:hotmail|outlook|live|msn)\.", re.I)

_SENTENCES = sentences(
    (r"because the domain is not reachable", Reason.HOSTUNKNOWN, True),
    (r"mailbox unavailable|recipient does not exist", Reason.USERUNKNOWN, False),
    (r"mailbox is full|over (its|the) quota", Reason.MAILBOXFULL, False),
)


class OutlookDetector:
    """Hotmail / Outlook.com reports (``X-Message-Delivery``)."""

    name = "outlook"

    # The first test of ``detect``, as data (most mail is not Hotmail's: issue 3).
    gate = Markers(Marker("X-Message-Delivery", PRESENT), also=Markers(Marker("From", _SENDER)))

    def detect(self, mail: Mail) -> list[BounceFacts] | None:
        if "X-Message-Delivery" not in mail.msg or not _SENDER.search(mail.sender):
            return None
        reported = parse_delivery_status(mail)
        return [with_sentence_reason(f, _SENTENCES) for f in reported or []] or None


DETECTOR = OutlookDetector()
