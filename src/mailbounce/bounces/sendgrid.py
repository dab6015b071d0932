"""SendGrid bounces ("Undelivered Mail Returned to Sender" from SendGrid's MTA).

``This is an automatically generated message from SendGrid.``, then one line per recipient::

    kijitora:000000:<kijitora@example.jp> : 192.0.2.250 : mx.example.jp:[192.0.2.153] :
    550 5.1.1 <kijitora@example.jp>... User Unknown  in RCPT TO

and an RFC 3464 report with ``X-SendGrid-QueueID``. The report is reused; the line adds the
remote host and the SMTP command (``in RCPT TO``).
"""

from __future__ import annotations

import re

from mailbounce.bounces._mailtexts import body_text
from mailbounce.bounces._markers import BODY, PRESENT, Marker, Markers
from mailbounce.bounces._textblocks import make_facts, with_dsn
from mailbounce.bounces.base import Mail
from mailbounce.lazy_patterns import lazy_compile
from mailbounce.models import BounceFacts

_LEAD = lazy_compile(r"automatically generated message from SendGrid", re.I)
_ROW = lazy_compile(
    r"^[^\s:]*:\d*:<([^<>\s]+@[^<>\s]+)>\s*:\s*[\d.:a-fA-F]*\s*:\s*([^\s:]+):\S*\s*:\s*(.+)$",
    re.M,
)
_COMMAND = lazy_compile(r"\bin (RCPT TO|MAIL FROM|DATA)\s*$", re.I)


def _row_facts(text: str) -> list[BounceFacts]:
    found = []
    for row in _ROW.finditer(text):
        reply = row.group(3).strip()
        command = _COMMAND.search(reply)
        found.append(
            make_facts(
                row.group(1),
                reply,
                remote_mta=row.group(2),
                smtp_command=command.group(1).split()[0].upper() if command else None,
            )
        )
    return found


class SendGridDetector:
    """SendGrid bounces: the report part completed by SendGrid's per-recipient line."""

    name = "sendgrid"

    # The first test of ``detect``, as data: False only when it surely finds nothing.
    gate = Markers(
        Marker(BODY, _LEAD, 300),
        Marker("X-SendGrid-QueueID", PRESENT),
    )

    def detect(self, mail: Mail) -> list[BounceFacts] | None:
        text = body_text(mail)
        if not (_LEAD.search(text[:300]) or "X-SendGrid-QueueID" in mail.msg):
            return None
        return with_dsn(mail, _row_facts(text)) or None


DETECTOR = SendGridDetector()
