"""ActiveHunter (Japanese mail gateway) bounces.

Layout: From "MAILER-DAEMON", Subject "FAILURE NOTICE :", an ``X-AHMAILID`` header; text
"  ----- The following addresses had permanent fatal errors -----", ">>> addr <addr>" per
recipient, "  ----- Transcript of session follows -----" and the remote reply ("550 sorry, no
mailbox here by that name (#5.1.1 - chkusr)").
"""

from __future__ import annotations

import re

from mailbounce.bounces import _mailtexts as mt
from mailbounce.bounces import _textblocks as tb
from mailbounce.bounces._markers import BODY, PRESENT, Marker, Markers
from mailbounce.bounces.base import Mail
from mailbounce.lazy_patterns import lazy_compile
from mailbounce.models import BounceFacts

_SUBJECT = lazy_compile(r"^FAILURE NOTICE\s*:", re.I)
_START = lazy_compile(r"-{3,} The following addresses had permanent fatal errors -{3,}", re.I)
_TRANSCRIPT = lazy_compile(r"-{3,} Transcript of session follows -{3,}", re.I)
_RECIPIENT = lazy_compile(r"^>>>\s*<?([^<>\s]+@[^<>\s]+)>?", re.M)
_SEPARATOR = lazy_compile(r"^Content-Type: message/rfc822", re.I | re.M)


class ActivehunterDetector:
    """ActiveHunter's text bounce."""

    name = "activehunter"

    # The first tests of ``detect``, as data: False only when it surely finds nothing. A
    # "FAILURE NOTICE" subject is qmail's too: without ActiveHunter's lead line and a ">>>"
    # row (in the body, which the text read is cut from) no recipient is found.
    gate = Markers(
        Marker("X-AHMailID", PRESENT),
        Marker("Subject", _SUBJECT),
        also=Markers(Marker(BODY, _START), also=Markers(Marker(BODY, _RECIPIENT))),
    )

    def detect(self, mail: Mail) -> list[BounceFacts] | None:
        if not (mail.header("X-AHMailID") or _SUBJECT.search(mail.subject)):
            return None
        text = tb.cut_at(mt.body_text(mail), _SEPARATOR)
        recipients = _RECIPIENT.findall("\n".join(tb.lines_between(text, _START, _TRANSCRIPT)))
        if not recipients:
            return None
        transcript = tb.squeeze(" ".join(tb.lines_between(text, _TRANSCRIPT)))
        # ActiveHunter writes qmail-style codes: "(#5.1.1 - chkusr)".
        return [tb.make_facts(r, transcript.replace("#", " ")) for r in recipients]


DETECTOR = ActivehunterDetector()
