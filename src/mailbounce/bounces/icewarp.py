"""IceWarp (formerly Merak) mail server bounces.

Layout: From the postmaster / "Mail Delivery System" of the host, Received traces naming
IceWarp or Merak; text "This message was created automatically by mail delivery software.",
"Delivery to the following recipient(s) failed permanently:" (or "...has been delayed"), then
per recipient the address and the remote reply ("addr: 550 5.1.1 ..." or "Remote server
replied: ..." on the next lines), then the returned message.
"""

from __future__ import annotations

import re

from mailbounce.bounces import _mailtexts as mt
from mailbounce.bounces import _textblocks as tb
from mailbounce.bounces._markers import BODY, RECEIVED, Marker, Markers
from mailbounce.bounces.base import Mail
from mailbounce.lazy_patterns import lazy_compile
from mailbounce.models import BounceFacts

_MARK = lazy_compile(r"IceWarp|Merak", re.I)
_START = lazy_compile(
    r"(following (recipient|address)(s|\(s\)|es|\(es\))?\b.*(failed|delayed|:)\s*$"
    r"|could not be delivered to)",
    re.I,
)
_STOP = lazy_compile(r"^-{3,}|^Original message|^Reporting-MTA:|^Received:", re.I)


class IcewarpDetector:
    """IceWarp/Merak's text bounce."""

    name = "icewarp"

    # The first test of ``detect``, as data: False only when it surely finds nothing.
    gate = Markers(
        Marker("X-Mailer", _MARK),
        Marker(RECEIVED, _MARK),
        Marker(BODY, _MARK, 3000),
    )

    def detect(self, mail: Mail) -> list[BounceFacts] | None:
        if not (
            _MARK.search(mail.header("X-Mailer"))
            or mt.received_mentions(mail, _MARK)
            or mt.body_search(mail, _MARK, 3000)
        ):
            return None
        text = mt.body_text(mail)
        delayed = "delayed" in text[:2000].lower() and "permanent" not in text[:2000].lower()
        facts = tb.listed_facts(text, _START, _STOP, delayed=delayed)
        return tb.with_dsn(mail, facts, text_required=True) or None


DETECTOR = IcewarpDetector()
