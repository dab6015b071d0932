"""The ``x5`` family (Sisimai's "Unknown MTA #5"): a report wrapped in another message.

A relay (ISO-2022-JP ``Mail Delivery Subsystem`` sender) sends a short text
(``----- The following addresses had permanent delivery errors -----``) and attaches, as
message/rfc822, the downstream multipart/report it received. The nested report is the
truth: its groups are read (RFC 3464 parser, which walks nested parts); the outer text only
recognises the wrapper.
"""

from __future__ import annotations

import re
from email.message import Message

from mailbounce.bounces._mailtexts import body_text
from mailbounce.bounces._markers import BODY, Marker, Markers
from mailbounce.bounces.base import Mail
from mailbounce.bounces.rfc3464 import parse_delivery_status
from mailbounce.lazy_patterns import lazy_compile
from mailbounce.models import BounceFacts

_LEAD = lazy_compile(r"-{3,}\s*The following addresses had permanent delivery errors\s*-{3,}", re.I)
_SENDER = lazy_compile(r"Mail Delivery Subsystem|MAILER-DAEMON", re.I)


def _wraps_a_report(mail: Mail) -> bool:
    """Whether a message/rfc822 part of the mail is itself a multipart/report."""
    payload = mail.msg.get_payload()
    for part in payload if isinstance(payload, list) else ():
        if not isinstance(part, Message) or part.get_content_type() != "message/rfc822":
            continue
        inner = part.get_payload()
        if isinstance(inner, list):
            first = inner[0] if inner else None
            if isinstance(first, Message) and first.get_content_type() == "multipart/report":
                return True
    return False


class X5Detector:
    """A bounce that forwards the downstream report as an attachment."""

    name = "x5"

    # The first tests of ``detect``, as data: False only when it surely finds nothing.
    gate = Markers(Marker("From", _SENDER), also=Markers(Marker(BODY, _LEAD, 600)))

    def detect(self, mail: Mail) -> list[BounceFacts] | None:
        if mail.msg.get_content_type() != "multipart/mixed" or not _SENDER.search(mail.sender):
            return None
        if not (_LEAD.search(body_text(mail)[:600]) and _wraps_a_report(mail)):
            return None
        return parse_delivery_status(mail)


DETECTOR = X5Detector()
