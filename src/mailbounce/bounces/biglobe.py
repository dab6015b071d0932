"""BIGLOBE (biglobe.ne.jp) bounces.

Layout: "   ----- The following addresses had delivery problems -----" with the addresses,
then "   ----- Non-delivered information -----" and BIGLOBE's sentence.
"""

from __future__ import annotations

import re

from mailbounce.bounces import _mailtexts as mt
from mailbounce.bounces import _textblocks as tb
from mailbounce.bounces._markers import Marker, Markers
from mailbounce.bounces.base import Mail
from mailbounce.lazy_patterns import lazy_compile
from mailbounce.models import BounceFacts, Reason

# BIGLOBE also runs the mail of a few cable operators (inacatv, tmtv, ttv).
_FROM = lazy_compile(r"postmaster@(?:[\w-]+\.)*(biglobe|inacatv|tmtv|ttv)\.ne\.jp", re.I)
_START = lazy_compile(r"-{3,} The following addresses had delivery problems -{3,}", re.I)
_INFO = lazy_compile(r"-{3,} Non-delivered information -{3,}", re.I)
_SENTENCES = tb.reason_table(
    (Reason.MAILBOXFULL, r"mailbox (exceeded the local limit|is full)|exceeded the local limit"),
    (Reason.USERUNKNOWN, r"user unknown|no such user"),
)


class BiglobeDetector:
    """BIGLOBE's text bounce."""

    name = "biglobe"

    # The first test of ``detect``, as data: False only when it surely finds nothing.
    gate = Markers(
        Marker("From", _FROM),
    )

    def detect(self, mail: Mail) -> list[BounceFacts] | None:
        if not _FROM.search(mail.sender):
            return None
        text = mt.body_text(mail)
        recipients = [
            a for line in tb.lines_between(text, _START, _INFO) for a in tb.ADDRESS.findall(line)
        ]
        if not recipients:
            return None
        info = tb.squeeze(" ".join(tb.lines_between(text, _INFO)))
        hint = tb.own_reason(info, _SENTENCES)
        return [tb.make_facts(r, info, reason_hint=hint) for r in recipients]


DETECTOR = BiglobeDetector()
