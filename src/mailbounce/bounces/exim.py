"""Exim's bounce and delay-warning messages (``exim/src/deliver.c``, default bounce text).

Layout: "This message was created automatically by mail delivery software.", a lead sentence
("The following address(es) failed:", "...has not yet been delivered is:", "...incorrectly
constructed:"), then per recipient the address at a small indent with the detail lines
(``SMTP error from remote mail server after RCPT TO:...``, ``host X [ip]: 550 ...``) indented
further, then "------ This is a copy of the message, including all the headers. ------".
``X-Failed-Recipients`` lists the failed addresses in the same order. Exim versions since 4.8x
may add a message/delivery-status part: the text still carries the remote's words, so it is
read the same way.
"""

from __future__ import annotations

import re

from mailbounce.bounces import _mailtexts as mt
from mailbounce.bounces import _textblocks as tb
from mailbounce.bounces import einsundeins, gmx, mailru, mxlogic
from mailbounce.bounces._dispatch import lazily_compiled
from mailbounce.bounces._eximtext import body_records
from mailbounce.bounces._markers import BODY, RECEIVED, Marker, Markers
from mailbounce.bounces.base import Mail
from mailbounce.lazy_patterns import lazy_compile
from mailbounce.models import BounceFacts

_FROM = lazy_compile(r"mailer-daemon|mail delivery system", re.I)
_LEAD_MARK = lazy_compile(
    r"created automatically by mail delivery software|créé automatiquement par le logiciel", re.I
)
_SUBJECT = lazy_compile(
    r"^(Mail delivery failed|Warning: message \S+ delayed|Mail failure - )", re.I
)
_EXIM_TRACE = lazy_compile(r"\(Exim \d", re.I)
# Providers that send Exim-like text with their own layout: their detectors read them.
_OWN_LAYOUTS = (einsundeins, gmx, mailru, mxlogic)
# Each one's gate, which its ``recognises`` implies (its sender, or its trace with its own
# text: ``tests/test_bounce_gates.py``), asked first from the texts the gates already built:
# a gate that says False spares its regex searches (issue 3, round 4).
_RECOGNISERS = tuple((lazily_compiled(m.DETECTOR.gate), m.recognises) for m in _OWN_LAYOUTS)


class EximDetector:
    """Exim's plain-text bounce (and warning) layout."""

    name = "exim"

    # The first tests of ``detect``, as data: False only when it surely finds nothing.
    gate = Markers(
        Marker("From", _FROM),
        also=Markers(
            Marker(BODY, _LEAD_MARK, 2000),
            Marker("Subject", _SUBJECT),
            Marker(RECEIVED, _EXIM_TRACE),  # with an X-Failed-Recipients header
        ),
    )

    def detect(self, mail: Mail) -> list[BounceFacts] | None:
        if not _FROM.search(mail.sender):
            return None
        text = mt.body_text(mail)
        # A Received "(Exim 4.x)" alone is no proof: other MTAs' bounces are relayed by Exim.
        if not (
            mt.body_search(mail, _LEAD_MARK, 2000)
            or _SUBJECT.search(mail.subject)
            or (mail.header("X-Failed-Recipients") and mt.received_mentions(mail, _EXIM_TRACE))
        ):
            return None
        if any(gate(mail) and recognises(mail) for gate, recognises in _RECOGNISERS):
            return None
        records = body_records(mail, text)
        return tb.with_dsn(mail, records, text_required=True) or None


DETECTOR = EximDetector()
