"""KDDI au one net (dion.ne.jp, auone-net.jp) bounces.

Layout: optional Japanese sentences, then "Your mail sent on: <date>", "Could not be delivered
to: <addr>" and KDDI's reason sentence ("As their mailbox is full.", "Due to the following SMTP
relay error", "As the remote domain doesnt exist.").
"""

from __future__ import annotations

import re

from mailbounce.bounces import _mailtexts as mt
from mailbounce.bounces import _textblocks as tb
from mailbounce.bounces._markers import RECEIVED, Marker, Markers
from mailbounce.bounces.base import Mail
from mailbounce.lazy_patterns import lazy_compile
from mailbounce.models import BounceFacts, Reason

_FROM = lazy_compile(r"@(?:[\w-]+\.)*(dion\.ne\.jp|auone-net\.jp|kddi\.com)", re.I)
_MARK = lazy_compile(r"auone-net\.jp|dion\.ne\.jp", re.I)
_RECIPIENT = lazy_compile(r"Could not be delivered to:\s*<?([^>\s]+)>?\s*(.*)", re.I | re.S)
_SENTENCES = tb.reason_table(
    (Reason.MAILBOXFULL, r"mailbox is full"),
    (Reason.HOSTUNKNOWN, r"remote domain does?n'?t exist"),
)


class KddiDetector:
    """KDDI's text bounce."""

    name = "kddi"

    # The first test of ``detect``, as data: False only when it surely finds nothing.
    gate = Markers(
        Marker("From", _FROM),
        Marker(RECEIVED, _MARK),
    )

    def detect(self, mail: Mail) -> list[BounceFacts] | None:
        if not (_FROM.search(mail.sender) or mt.received_mentions(mail, _MARK)):
            return None
        text = mt.body_text(mail)
        found = _RECIPIENT.search(text)
        if found is None:
            return None
        reason = tb.squeeze(found.group(2))
        return [
            tb.make_facts(found.group(1), reason, reason_hint=tb.own_reason(reason, _SENTENCES))
        ]


DETECTOR = KddiDetector()
