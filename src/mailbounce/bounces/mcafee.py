"""McAfee Email Gateway / Email and Web Security appliance bounces (``X-NAI-Header``).

Layout: "    --- The following addresses had delivery problems ---" then one line per
recipient "<addr>   (<the remote reply or the gateway's words>)"; a message/delivery-status
part usually follows.
"""

from __future__ import annotations

import re

from mailbounce.bounces import _mailtexts as mt
from mailbounce.bounces import _textblocks as tb
from mailbounce.bounces._markers import Marker, Markers
from mailbounce.bounces.base import Mail
from mailbounce.lazy_patterns import lazy_compile
from mailbounce.models import BounceFacts

_MARK = lazy_compile(r"McAfee", re.I)
_START = lazy_compile(r"-{3} The following addresses had delivery problems -{3}", re.I)
_LINE = lazy_compile(r"^\s*<([^>\s]+@[^>\s]+)>\s+\((.*)\)\s*$")


class McafeeDetector:
    """McAfee gateway's text, completing its delivery-status part."""

    name = "mcafee"

    # The first test of ``detect``, as data: False only when it surely finds nothing.
    gate = Markers(
        Marker("X-NAI-Header", _MARK),
    )

    def detect(self, mail: Mail) -> list[BounceFacts] | None:
        if not _MARK.search(mail.header("X-NAI-Header")):
            return None
        lines = tb.lines_between(mt.body_text(mail), _START)
        facts = [tb.make_facts(m.group(1), m.group(2)) for m in map(_LINE.match, lines) if m]
        return tb.with_dsn(mail, facts, text_required=True) or None


DETECTOR = McafeeDetector()
