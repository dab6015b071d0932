"""The ``x3`` family (Sisimai's "Unknown MTA #3"): a boxed plain-text DSN.

``This is an automatically generated Delivery Status Notification.``, then
``Delivery to the following recipients failed permanently:`` with ``* addr`` rows, then a
``Technical details:`` box with ``SMTP:RCPT host 192.0.2.8: 553 5.3.0 <addr>... text``.
"""

from __future__ import annotations

import re

from mailbounce.bounces._mailtexts import body_text
from mailbounce.bounces._markers import BODY, Marker, Markers
from mailbounce.bounces._textblocks import make_facts, with_dsn
from mailbounce.bounces.base import Mail
from mailbounce.lazy_patterns import lazy_compile
from mailbounce.models import BounceFacts

_LEAD = lazy_compile(r"This is an automatically generated Delivery Status Notification", re.I)
_FAILED = lazy_compile(
    r"^\s*Delivery to the following recipients? failed( permanently)?", re.I | re.M
)
_DELAYED = lazy_compile(
    r"^\s*Delivery to the following recipients? (has been )?delayed", re.I | re.M
)
_ROW = lazy_compile(r"^\s*\*\s*<?([^\s<>@]+@[\w.-]+\w)>?\s*$", re.M)
_DETAIL = lazy_compile(r"^\s*SMTP:\s*(\w+)\s+host\s+(\S+?):\s*(.+)$", re.I | re.M)
_ADDRESS = lazy_compile(r"<?([^\s<>@]+@[\w.-]+\w)>?")


class X3Detector:
    """``* addr`` rows and ``SMTP:CMD host H: reply`` technical details."""

    name = "x3"

    # The first test of ``detect``, as data: False only when it surely finds nothing.
    gate = Markers(
        Marker(BODY, _LEAD, 600),
    )

    def detect(self, mail: Mail) -> list[BounceFacts] | None:
        text = body_text(mail)
        if not _LEAD.search(text[:600]):
            return None
        delayed = _DELAYED.search(text) and not _FAILED.search(text)
        details = [(m.group(1).upper(), m.group(2), m.group(3)) for m in _DETAIL.finditer(text)]
        found: list[BounceFacts] = []
        for row in _ROW.finditer(text):
            recipient = row.group(1).lower()
            # The detail naming this address, else the only detail there is.
            mine = [d for d in details if recipient in d[2].lower()]
            command, host, reply = (mine or details or [(None, None, "")])[0]
            found.append(
                make_facts(
                    recipient,
                    reply,
                    action="delayed" if delayed else "failed",
                    remote_mta=host,
                    smtp_command=command,
                )
            )
        return with_dsn(mail, found) or None


DETECTOR = X3Detector()
