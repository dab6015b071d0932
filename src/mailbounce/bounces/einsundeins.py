"""1&1 / IONOS (kundenserver.de) bounces: the United Internet layout GMX also uses.

Layout: "This message was created automatically by mail delivery software.", "The following
address failed:", the address, "For the following reason:", 1&1's words ("Mail size limit
exceeded. For explanation visit http://postmaster.1and1.com/..."), then "--- The header of the
original message is following. ---". The parsing is shared with ``gmx``.
"""

from __future__ import annotations

import re

from mailbounce.bounces import _textblocks as tb
from mailbounce.bounces.base import Mail
from mailbounce.bounces.gmx import parse_united_internet
from mailbounce.models import BounceFacts

_FROM = re.compile(r"mailer-daemon@(?:[\w-]+\.)*(kundenserver|1and1|1und1|ionos)\.", re.I)
_MARK = re.compile(r"kundenserver\.|1and1\.|1und1\.|ionos\.", re.I)


class EinsundeinsDetector:
    """1&1 / IONOS text bounce."""

    name = "einsundeins"

    def detect(self, mail: Mail) -> list[BounceFacts] | None:
        if not recognises(mail):
            return None
        return parse_united_internet(tb.body_text(mail))


def recognises(mail: Mail) -> bool:
    """Whether the bounce comes from this provider (its sender or its own Received trace)."""
    return bool(_FROM.search(mail.sender) or tb.received_mentions(mail, _MARK))


DETECTOR = EinsundeinsDetector()
