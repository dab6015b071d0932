"""Bigfoot.com forwarding (LiteMail) bounces.

Layout: Sendmail-like text ("----- The following addresses had permanent fatal errors -----",
"<addr>", "----- Transcript of session follows -----", ">>> RCPT TO:<addr>", "<<< 553 ...")
from MAILER-DAEMON@bigfoot.com, relayed by "LiteMail", plus a message/delivery-status part.
The transcript adds the SMTP command and the full reply.
"""

from __future__ import annotations

import re

from mailbounce.bounces import _mailtexts as mt
from mailbounce.bounces import _textblocks as tb
from mailbounce.bounces._markers import RECEIVED, Marker, Markers
from mailbounce.bounces.base import Mail
from mailbounce.lazy_patterns import lazy_compile
from mailbounce.models import BounceFacts

_MARK = lazy_compile(r"bigfoot\.com|LiteMail", re.I)
_TRANSCRIPT = lazy_compile(
    r"^>>> (\w+)(?: TO| FROM)?:?\s*<?([^<>\s]+@[^<>\s]+)>?[^\n]*\n<<< (.*)$", re.M
)


class BigfootDetector:
    """Bigfoot's bounce: delivery-status fields completed by the session transcript."""

    name = "bigfoot"

    # The first test of ``detect``, as data: False only when it surely finds nothing.
    gate = Markers(
        Marker("From", _MARK),
        Marker(RECEIVED, _MARK),
    )

    def detect(self, mail: Mail) -> list[BounceFacts] | None:
        if not (_MARK.search(mail.sender) or mt.received_mentions(mail, _MARK)):
            return None
        text = mt.body_text(mail)
        facts = [
            tb.make_facts(m.group(2), m.group(3), smtp_command=m.group(1).upper())
            for m in _TRANSCRIPT.finditer(text)
        ]
        return tb.with_dsn(mail, facts, text_required=True) or None


DETECTOR = BigfootDetector()
