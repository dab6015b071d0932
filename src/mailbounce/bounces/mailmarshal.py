"""Trustwave (Marshal) MailMarshal SMTP bounces.

Layout: "Your message:\n   From: ...\n   Subject: ...\n\nCould not be delivered because of\n\n
550 5.1.1 User unknown\n\nThe following recipients were affected: \n    addr\n", then
"Additional Information\n======" with ``Remote-MTA: <ip>`` style lines.
"""

from __future__ import annotations

import re

from mailbounce.bounces import _mailtexts as mt
from mailbounce.bounces import _textblocks as tb
from mailbounce.bounces._markers import BODY, RECEIVED, Marker, Markers
from mailbounce.bounces.base import Mail
from mailbounce.lazy_patterns import lazy_compile
from mailbounce.models import BounceFacts

_MARK = lazy_compile(r"MailMarshal", re.I)
_BECAUSE = lazy_compile(r"^Could not be delivered because of\s*$", re.I | re.M)
_AFFECTED = lazy_compile(r"^The following recipients were affected:?\s*$", re.I)
_ADDITIONAL = lazy_compile(r"^Additional Information\s*$", re.I)
_REMOTE = lazy_compile(r"^Remote-MTA:\s*<([^>]*)>", re.I | re.M)


class MailmarshalDetector:
    """MailMarshal's text bounce."""

    name = "mailmarshal"

    # The first test of ``detect``, as data: False only when it surely finds nothing.
    gate = Markers(
        Marker(BODY, _BECAUSE),
        Marker(RECEIVED, _MARK),
    )

    def detect(self, mail: Mail) -> list[BounceFacts] | None:
        text = mt.body_text(mail)
        if not _BECAUSE.search(text) and not mt.received_mentions(mail, _MARK):
            return None
        reason = tb.squeeze(" ".join(tb.lines_between(text, _BECAUSE, _AFFECTED)))
        recipients = [
            a
            for line in tb.lines_between(text, _AFFECTED, _ADDITIONAL)
            for a in tb.ADDRESS.findall(line)
        ]
        if not recipients or not reason:
            return None
        remote = _REMOTE.search(text)
        return [
            tb.make_facts(r, reason, remote_mta=remote.group(1) if remote else None)
            for r in recipients
        ]


DETECTOR = MailmarshalDetector()
