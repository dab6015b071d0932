"""MailFoundry gateway bounces (``Received: ... (MAILFOUNDRY)``).

Layout: "Unable to deliver message to: <addr>", "Delivery failed for the following reason:",
"Server host[ip] failed with: 550 ...", "This has been a permanent failure.  No further
delivery attempts will be made.", then the original as message/rfc822.
"""

from __future__ import annotations

import re

from mailbounce.bounces import _mailtexts as mt
from mailbounce.bounces import _textblocks as tb
from mailbounce.bounces._markers import RECEIVED, Marker, Markers
from mailbounce.bounces.base import Mail
from mailbounce.lazy_patterns import lazy_compile
from mailbounce.models import BounceFacts

_MARK = lazy_compile(r"MAILFOUNDRY", re.I)
_RECIPIENT = lazy_compile(r"^Unable to deliver message to:\s*<?([^>\s]+)>?", re.I | re.M)
_REASON = lazy_compile(r"^Delivery failed for the following reason:\s*(.*)", re.I | re.M | re.S)
_SERVER = lazy_compile(r"Server (\S+?)\[[^\]]*\] failed with:\s*")
_END = lazy_compile(r"^This has been a (permanent|temporary) failure.*", re.I | re.M | re.S)


class MailfoundryDetector:
    """MailFoundry's text bounce."""

    name = "mailfoundry"

    # The first test of ``detect``, as data: False only when it surely finds nothing.
    gate = Markers(
        Marker(RECEIVED, _MARK),
    )

    def detect(self, mail: Mail) -> list[BounceFacts] | None:
        if not mt.received_mentions(mail, _MARK):
            return None
        text = mt.body_text(mail)
        recipients = _RECIPIENT.findall(text)
        reason = _REASON.search(text)
        if not recipients or reason is None:
            return None
        details = reason.group(1)
        ending = _END.search(details)
        temporary = bool(ending and ending.group(1).lower() == "temporary")
        details = details[: ending.start()] if ending else details
        server = _SERVER.search(details)
        diagnostic = details[server.end() :] if server else details
        return [
            tb.make_facts(
                r,
                diagnostic,
                action="delayed" if temporary else "failed",
                remote_mta=server.group(1) if server else None,
            )
            for r in recipients
        ]


DETECTOR = MailfoundryDetector()
