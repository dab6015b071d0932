"""Symantec (Broadcom) Email Security.cloud, formerly MessageLabs, failure notices.

Layout: From "Mail Delivery System" <MAILER-DAEMON@messagelabs.com>, Subject "Mail Delivery
Failure", an ``X-Msg-Ref: server-N.tower-N.messagelabs.com!...`` header; a text part "This is
the mail delivery agent at messagelabs.com." (later "at Symantec Email Security.cloud."), "I
was unable to deliver your message to the following addresses:", the addresses, each followed
by "Reason: 550 ...", then "The message subject was: ..." lines; and a message/delivery-status
part whose Diagnostic-Code carries the same remote reply.
"""

from __future__ import annotations

import re

from mailbounce.bounces import _mailtexts as mt
from mailbounce.bounces import _textblocks as tb
from mailbounce.bounces._markers import RECEIVED, Marker, Markers
from mailbounce.bounces.base import Mail
from mailbounce.lazy_patterns import lazy_compile
from mailbounce.models import BounceFacts

_MARK = lazy_compile(r"messagelabs\.com", re.I)
_START = lazy_compile(
    r"Delivery has failed to these recipients|could not be (delivered|reached)|"
    r"following (address|recipient)",
    re.I,
)
_STOP = lazy_compile(r"^-{3,}|^Original message|^Reporting-MTA:|^The message subject was", re.I)


class MessagelabsDetector:
    """MessageLabs' failure notice."""

    name = "messagelabs"

    # The first test of ``detect``, as data: False only when it surely finds nothing.
    gate = Markers(
        Marker("From", _MARK),
        Marker("X-Msg-Ref", _MARK),
        Marker(RECEIVED, _MARK),
    )

    def detect(self, mail: Mail) -> list[BounceFacts] | None:
        if not (
            _MARK.search(mail.sender)
            or _MARK.search(mail.header("X-Msg-Ref"))
            or mt.received_mentions(mail, _MARK)
        ):
            return None
        text = mt.body_text(mail)
        facts = tb.listed_facts(text, _START, _STOP)
        # Its sender is proof; X-Msg-Ref and Received are also on mail it merely relayed.
        strong = bool(_MARK.search(mail.sender))
        return tb.with_dsn(mail, facts, text_required=not strong) or None


DETECTOR = MessagelabsDetector()
