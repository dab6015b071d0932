"""Haraka (Node.js MTA) outbound bounces.

Layout (``config/outbound.bounce_message``): ``Received: (Haraka x.y) ...``, From
MAILER-DAEMON, a multipart/report whose text reads "We were unable to deliver your message to
the following addresses." followed by the addresses and the remote reply
("<addr>: 550 5.1.1 ..."), and a message/delivery-status part with the per-recipient fields.
"""

from __future__ import annotations

import re

from mailbounce.bounces import _mailtexts as mt
from mailbounce.bounces import _textblocks as tb
from mailbounce.bounces._markers import RECEIVED, Marker, Markers
from mailbounce.bounces.base import Mail
from mailbounce.lazy_patterns import lazy_compile
from mailbounce.models import BounceFacts

_MARK = lazy_compile(r"\bHaraka\b", re.I)
_START = lazy_compile(r"unable to deliver your message to the following address", re.I)
_STOP = lazy_compile(r"^-{2}|^Reporting-MTA:|^Content-Type:", re.I)


class HarakaDetector:
    """Haraka's bounce."""

    name = "haraka"

    # The first test of ``detect``, as data: False only when it surely finds nothing.
    gate = Markers(
        Marker(RECEIVED, _MARK),
        Marker("X-Mailer", _MARK),
    )

    def detect(self, mail: Mail) -> list[BounceFacts] | None:
        text = mt.body_text(mail)
        if not (mt.received_mentions(mail, _MARK) or _MARK.search(mail.header("X-Mailer"))):
            return None
        facts = tb.listed_facts(text, _START, _STOP)
        return tb.with_dsn(mail, facts, text_required=True) or None


DETECTOR = HarakaDetector()
