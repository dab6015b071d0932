"""Kerio Connect (GFI) delivery failure notices.

Layout: ``X-Mailer: Kerio Connect ...`` / Received traces naming Kerio; a text part "Your
message did not reach some or all of the intended recipients." or "The following recipient(s)
could not be reached:" with per recipient the address then indented lines such as "Error
Type: SMTP", "Remote server replied: 550 5.1.1 ...", and often a message/delivery-status part.
"""

from __future__ import annotations

import re

from mailbounce.bounces import _mailtexts as mt
from mailbounce.bounces import _textblocks as tb
from mailbounce.bounces._markers import RECEIVED, Marker, Markers
from mailbounce.bounces.base import Mail
from mailbounce.lazy_patterns import lazy_compile
from mailbounce.models import BounceFacts

_MARK = lazy_compile(r"Kerio", re.I)
_START = lazy_compile(
    r"(could not be (reached|delivered)|following recipients?|delivery (has )?failed)", re.I
)
_STOP = lazy_compile(r"^-{3,}|^Original message|^Reporting-MTA:|^Kerio Connect", re.I)


class KerioDetector:
    """Kerio Connect's notice."""

    name = "kerio"

    # The first test of ``detect``, as data: False only when it surely finds nothing.
    gate = Markers(
        Marker("X-Mailer", _MARK),
        Marker(RECEIVED, _MARK),
    )

    def detect(self, mail: Mail) -> list[BounceFacts] | None:
        if not (_MARK.search(mail.header("X-Mailer")) or mt.received_mentions(mail, _MARK)):
            return None
        text = mt.body_text(mail)
        facts = tb.listed_facts(text, _START, _STOP)
        return tb.with_dsn(mail, facts, text_required=True) or None


DETECTOR = KerioDetector()
