"""1&1 / IONOS (kundenserver.de) bounces: the United Internet layout GMX also uses.

Layout: "This message was created automatically by mail delivery software.", "The following
address failed:", the address, "For the following reason:", 1&1's words ("Mail size limit
exceeded. For explanation visit http://postmaster.1and1.com/..."), then "--- The header of the
original message is following. ---". The parsing is shared with ``gmx``.
"""

from __future__ import annotations

import re

from mailbounce.bounces import _mailtexts as mt
from mailbounce.bounces._markers import BODY, Marker, Markers
from mailbounce.bounces.base import Mail
from mailbounce.bounces.gmx import parse_united_internet
from mailbounce.lazy_patterns import lazy_compile
from mailbounce.models import BounceFacts

_FROM = lazy_compile(r"mailer-daemon@(?:[\w-]+\.)*(kundenserver|1and1|1und1|ionos)\.", re.I)
_SEPARATOR = lazy_compile(r"^-{2,} The header of the original message is following", re.I | re.M)
_MARK = lazy_compile(r"kundenserver\.|1and1\.|1und1\.|ionos\.", re.I)


class EinsundeinsDetector:
    """1&1 / IONOS text bounce."""

    name = "einsundeins"

    # The first test of ``detect``, as data: False only when it surely finds nothing.
    gate = Markers(
        Marker("From", _FROM),
        Marker(BODY, _SEPARATOR),
    )

    def detect(self, mail: Mail) -> list[BounceFacts] | None:
        if not recognises(mail):
            return None
        return parse_united_internet(mt.body_text(mail))


def recognises(mail: Mail) -> bool:
    """1&1's sender, or a 1&1 trace together with United Internet's own separator."""
    if _FROM.search(mail.sender):
        return True
    return mt.received_mentions(mail, _MARK) and bool(_SEPARATOR.search(mt.body_text(mail)))


DETECTOR = EinsundeinsDetector()
