"""McAfee MXLogic (SaaS e-mail protection, mxl_mta) bounces.

Layout: "This message was created automatically by mail delivery software.", "A message that
you have sent could not be delivered to one or more recipients.  This is a permanent error.
The following address failed:" then per recipient "  <addr>: 550 ..." (the reply may continue
on the next lines), then "Included is a copy of the message header:".
"""

from __future__ import annotations

import re

from mailbounce.bounces import _mailtexts as mt
from mailbounce.bounces import _textblocks as tb
from mailbounce.bounces._markers import BODY, Marker, Markers
from mailbounce.bounces.base import Mail
from mailbounce.lazy_patterns import lazy_compile
from mailbounce.models import BounceFacts

_FROM = lazy_compile(r"mailer-daemon@(?:[\w-]+\.)*mxlogic\.net", re.I)
_START = lazy_compile(r"following address(?:es)? failed:\s*$", re.I)
_STOP = lazy_compile(r"^Included is a copy of the message header", re.I)
_RECIPIENT = lazy_compile(r"^\s*<([^>\s]+@[^>\s]+)>:\s*(.*)$")
_DAEMON = lazy_compile(r"mailer-daemon", re.I)
_HEADER_COPY = lazy_compile(r"^Included is a copy of the message header", re.I | re.M)


class MxlogicDetector:
    """MXLogic's text bounce."""

    name = "mxlogic"

    # The first test of ``detect``, as data: False only when it surely finds nothing.
    gate = Markers(
        Marker("From", _FROM),
        Marker(BODY, _HEADER_COPY),
    )

    def detect(self, mail: Mail) -> list[BounceFacts] | None:
        if not recognises(mail):
            return None
        text = mt.body_text(mail)
        records: list[tuple[str, list[str]]] = []
        for line in tb.lines_between(text, _START, _STOP):
            found = _RECIPIENT.match(line)
            if found:
                records.append((found.group(1), [found.group(2)]))
            elif records and line.strip():
                records[-1][1].append(line.strip())
        return [tb.make_facts(r, " ".join(lines)) for r, lines in records] or None


def recognises(mail: Mail) -> bool:
    """An MXLogic sender, or MXLogic's fixed "Included is a copy..." layout from a daemon.

    MXLogic also filters inbound mail: its Received trace alone proves nothing.
    """
    if _FROM.search(mail.sender):
        return True
    return bool(_DAEMON.search(mail.sender) and _HEADER_COPY.search(mt.body_text(mail)))


DETECTOR = MxlogicDetector()
