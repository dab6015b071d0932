"""HCL (IBM, Lotus) Domino non-delivery reports.

Layout: "Your message\n  Subject: ...\nwas not delivered to:\n  addr\nbecause:\n  reason" (the
reason localised: "User x (addr) not listed in Domino Directory", Japanese "... は Domino
ディレクトリには見つかりません"), Subject "DELIVERY FAILURE: ...". Newer Domino adds a
message/delivery-status part with ``Diagnostic-Code: X-Notes; ...`` and ``Status: 5.0.0``.
"""

from __future__ import annotations

import re

from mailbounce.bounces import _mailtexts as mt
from mailbounce.bounces import _textblocks as tb
from mailbounce.bounces._markers import BODY, RECEIVED, Marker, Markers
from mailbounce.bounces.base import Mail
from mailbounce.lazy_patterns import lazy_compile
from mailbounce.models import BounceFacts, Reason

_SUBJECT = lazy_compile(r"^DELIVERY[ _](FAILURE|REPORT)", re.I)
_MARK = lazy_compile(r"Lotus Domino|HCL Domino|IBM Domino", re.I)
_NOT_DELIVERED = lazy_compile(r"^was not delivered to:", re.I)
# ``_NOT_DELIVERED`` searched line by line (``lines_between``) is this on the whole text.
_NOT_DELIVERED_LINE = lazy_compile(_NOT_DELIVERED.pattern, re.I | re.M)
_BECAUSE = lazy_compile(r"^because:", re.I)
_SENTENCES = tb.reason_table(
    (
        Reason.USERUNKNOWN,
        r"not listed in (the )?(public )?(Domino Directory|Name (and|&) Address Book)"
        r"|Domino ?ディレクトリには見つかりません|nicht im Domino-Verzeichnis"
        r"|n'est pas répertorié dans l'annuaire Domino|No such user",
    ),
    (Reason.HOSTUNKNOWN, r"Unable to find the domain|host not found|No route found to domain"),
    (Reason.FILTERED, r"Cannot route mail to user"),
    (Reason.SYSTEMERROR, r"Several matches found in (the )?Domino Directory"),
    (Reason.MAILBOXFULL, r"mail ?file is full|exceeds? (the )?(mail ?file )?quota"),
    (Reason.NETWORKERROR, r"Unable to connect|network error"),
)


class DominoDetector:
    """Domino's "was not delivered to / because" report."""

    name = "domino"

    # The first tests of ``detect``, as data: False only when it surely finds nothing (no
    # "was not delivered to:" line: no recipient).
    gate = Markers(
        Marker("Subject", _SUBJECT),
        Marker(RECEIVED, _MARK),
        also=Markers(Marker(BODY, _NOT_DELIVERED_LINE)),
    )

    def detect(self, mail: Mail) -> list[BounceFacts] | None:
        if not (_SUBJECT.search(mail.subject) or mt.received_mentions(mail, _MARK)):
            return None
        text = mt.body_text(mail)
        recipients = [
            a.lower()
            for line in tb.lines_between(text, _NOT_DELIVERED, _BECAUSE)
            for a in tb.ADDRESS.findall(line)
        ]
        if not recipients:
            return None
        reason_lines = tb.lines_between(text, _BECAUSE)
        because = tb.squeeze(" ".join(line for line in reason_lines if line.strip()))
        hint = tb.own_reason(because, _SENTENCES)
        facts = [tb.make_facts(r, because, reason_hint=hint) for r in recipients]
        return tb.with_dsn(mail, facts) or None


DETECTOR = DominoDetector()
