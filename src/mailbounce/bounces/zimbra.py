"""Zimbra Collaboration bounces: Postfix bounces whose failure is Zimbra's LMTP reply.

Zimbra's MTA is Postfix, so the layout is Postfix's (read by the postfix detector's parser);
what Zimbra adds is its mailbox server's own LMTP wording (``Over quota``, an account that is
locked, closed or in maintenance), which names the reason. Recognised by Zimbra's trace
(``(Zimbra)`` in Received, ``X-Mailer: Zimbra``, a ``zimbra`` reporting host).
"""

from __future__ import annotations

import re

from mailbounce.bounces._addressblocks import sentences, with_sentence_reason
from mailbounce.bounces._mailtexts import received_mentions
from mailbounce.bounces._markers import RECEIVED, Marker, Markers
from mailbounce.bounces.base import Mail
from mailbounce.bounces.postfix import DETECTOR as POSTFIX
from mailbounce.lazy_patterns import lazy_compile
from mailbounce.models import BounceFacts, Reason

_TRACE = lazy_compile(r"\(Zimbra\)|\bzimbra\b", re.I)

# Zimbra mailboxd LMTP replies (LmtpHandler / account status checks).
_SENTENCES = sentences(
    (r"\bOver quota\b|mailbox (is )?full|quota exceeded", Reason.MAILBOXFULL, True),
    (
        r"account (is )?(locked|closed|inactive|not active|disabled)|in maintenance",
        Reason.SUSPEND,
        True,
    ),
    (r"No such user here|account does not exist|Mailbox unknown", Reason.USERUNKNOWN, True),
)


class ZimbraDetector:
    """Postfix-made bounces of a Zimbra server, with Zimbra's LMTP wording."""

    name = "zimbra"

    # The first test of ``detect``, as data: False only when it surely finds nothing.
    gate = Markers(
        Marker("X-Mailer", _TRACE),
        Marker(RECEIVED, _TRACE),
    )

    def detect(self, mail: Mail) -> list[BounceFacts] | None:
        traced = _TRACE.search(mail.header("X-Mailer")) or received_mentions(mail, _TRACE)
        if not traced:
            return None
        found = POSTFIX.detect(mail)
        if not found or not any(_TRACE.search(f.reporting_mta or "") or traced for f in found):
            return None
        return [with_sentence_reason(f, _SENTENCES) for f in found]


DETECTOR = ZimbraDetector()
