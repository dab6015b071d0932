"""Axigen mail server delivery status notifications.

Layout: Received/X-Mailer traces naming Axigen, From MAILER-DAEMON, Subject "Delivery Status
Notification (Failure)" or "Undelivered message"; the text "This is an automatically generated
Delivery Status Notification." / "Your message could not be delivered to the following
recipients:" followed by the recipients, one per line, each with its reason on the same line
("addr: 550 5.1.1 ...") or on the next lines ("Reason: ..."); usually a
message/delivery-status part as well (its fields are used, the text completes them).
"""

from __future__ import annotations

import re

from mailbounce.bounces import _mailtexts as mt
from mailbounce.bounces import _textblocks as tb
from mailbounce.bounces._markers import RECEIVED, Marker, Markers
from mailbounce.bounces.base import Mail
from mailbounce.lazy_patterns import lazy_compile
from mailbounce.models import BounceFacts

_MARK = lazy_compile(r"Axigen", re.I)
_START = lazy_compile(
    r"(could not be delivered|delivery (to the following recipients )?failed|"
    r"following recipients?|not (yet )?been delivered)",
    re.I,
)
_STOP = lazy_compile(r"^-{3,}|^Original message|^Reporting-MTA:|^The original message", re.I)


class AxigenDetector:
    """Axigen's notification."""

    name = "axigen"

    # The first test of ``detect``, as data: False only when it surely finds nothing.
    gate = Markers(
        Marker("X-Mailer", _MARK),
        Marker(RECEIVED, _MARK),
        Marker("Message-ID", _MARK),
    )

    def detect(self, mail: Mail) -> list[BounceFacts] | None:
        if not (
            _MARK.search(mail.header("X-Mailer"))
            or mt.received_mentions(mail, _MARK)
            or _MARK.search(mail.header("Message-ID"))
        ):
            return None
        text = mt.body_text(mail)
        delayed = "delay" in mail.subject.lower()
        facts = tb.listed_facts(text, _START, _STOP, delayed=delayed)
        return tb.with_dsn(mail, facts, text_required=True) or None


DETECTOR = AxigenDetector()
