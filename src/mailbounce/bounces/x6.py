"""The ``x6`` family (Sisimai's "Unknown MTA #6"): "There was an error sending your mail".

``We had trouble delivering your message. Full details follow:``, the original Subject and
Date, ``N error(s):``, then per recipient ``SMTP Server <host> rejected recipient <addr>
(Error following RCPT command). It responded as follows: [550 5.1.1 User unknown]``; the
original headers are attached.
"""

from __future__ import annotations

import re

from mailbounce.bounces._mailtexts import body_text
from mailbounce.bounces._markers import BODY, Marker, Markers
from mailbounce.bounces._textblocks import make_facts, squeeze, with_dsn
from mailbounce.bounces.base import Mail
from mailbounce.lazy_patterns import lazy_compile
from mailbounce.models import BounceFacts

_SUBJECT = lazy_compile(r"There was an error sending your mail", re.I)
_LEAD = lazy_compile(r"We had trouble delivering your message", re.I)
_ERROR = lazy_compile(
    r"SMTP Server <([^<>\s]*)> rejected recipient <([^<>\s]+)>\s*"
    r"(?:\(Error following (\w+) command\)\.?)?\s*"
    r"(?:It responded as follows:\s*\[(.*?)\])?",
    re.I | re.S,
)


class X6Detector:
    """``SMTP Server <host> rejected recipient <addr> ... [reply]`` sentences."""

    name = "x6"

    # The first test of ``detect``, as data: False only when it surely finds nothing.
    gate = Markers(
        Marker("Subject", _SUBJECT),
        Marker(BODY, _LEAD, 400),
    )

    def detect(self, mail: Mail) -> list[BounceFacts] | None:
        text = body_text(mail)
        if not (_SUBJECT.search(mail.subject) or _LEAD.search(text[:400])):
            return None
        found = [
            make_facts(
                m.group(2),
                squeeze(m.group(4) or m.group(0)),
                remote_mta=m.group(1) or None,
                smtp_command=(m.group(3) or "").upper() or None,
            )
            for m in _ERROR.finditer(text)
        ]
        return with_dsn(mail, found) or None


DETECTOR = X6Detector()
