"""Apache James server bounces.

Layout: "Error: <James's summary>", "Error message below:" then the remote reply
("550 - Requested action not taken: no such user here"), then "Message details:" with
indented ``RCPT TO: addr`` lines (one per failed recipient).
"""

from __future__ import annotations

import re

from mailbounce.bounces import _mailtexts as mt
from mailbounce.bounces import _textblocks as tb
from mailbounce.bounces._markers import BODY, Marker, Markers
from mailbounce.bounces.base import Mail
from mailbounce.lazy_patterns import lazy_compile
from mailbounce.models import BounceFacts

_ERROR = lazy_compile(r"^Error message below:\s*$", re.I | re.M)
_DETAILS = lazy_compile(r"^Message details:\s*$", re.I | re.M)
_RCPT = lazy_compile(r"^\s*RCPT TO:\s*<?(\S+@[^\s>]+)>?", re.I | re.M)


class ApachejamesDetector:
    """Apache James's text bounce."""

    name = "apachejames"

    # The first tests of ``detect``, as data: False only when it surely finds nothing.
    gate = Markers(Marker(BODY, _ERROR), also=Markers(Marker(BODY, _DETAILS)))

    def detect(self, mail: Mail) -> list[BounceFacts] | None:
        text = mt.body_text(mail)
        if not (mt.body_search(mail, _ERROR) and mt.body_search(mail, _DETAILS)):
            return None
        diagnostic = tb.squeeze(" ".join(tb.lines_between(text, _ERROR, _DETAILS)))
        details = "\n".join(tb.lines_between(text, _DETAILS))
        recipients = _RCPT.findall(details)
        if not recipients:
            return None
        return [tb.make_facts(r, diagnostic, smtp_command=None) for r in recipients]


DETECTOR = ApachejamesDetector()
