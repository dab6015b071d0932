"""The ``x1`` family (Sisimai's name): "Mail Deliver System" bounces of an old OpenMail relay.

``---The following addresses had delivery errors---`` then one ``addr [reason]`` line per
recipient.
"""

from __future__ import annotations

import re

from mailbounce.bounces._addressblocks import leaf_texts
from mailbounce.bounces._mailtexts import NOT_FOLDED, body_lowered, body_text
from mailbounce.bounces._markers import Marker, Markers
from mailbounce.bounces._prefilter import may_match
from mailbounce.bounces._textblocks import make_facts
from mailbounce.bounces.base import Mail
from mailbounce.lazy_patterns import lazy_compile
from mailbounce.models import BounceFacts

_START = lazy_compile(r"^-+\s*The following addresses had delivery errors\s*-+\s*$", re.I | re.M)
_SENDER = lazy_compile(r"Mail Deliver(?:y)? System|MAILER-DAEMON|postmaster", re.I)
_ROW = lazy_compile(r"^\s*<?([^\s<>@]+@[\w.-]+\.\w+)>?\s+\[(.*)\]\s*$")


class X1Detector:
    """``addr [reason]`` rows after "The following addresses had delivery errors"."""

    name = "x1"

    # The first test of ``detect``, as data: False only when it surely finds nothing.
    gate = Markers(
        Marker("From", _SENDER),
    )

    def detect(self, mail: Mail) -> list[BounceFacts] | None:
        if not _SENDER.search(mail.sender):
            return None
        # The relay folds its first part's Content-Type badly: read every text part.
        text = leaf_texts(mail)
        # The case-insensitive scan only where its words are (most senders match: h12), in
        # the body's lower-cased text when the leaves are the body alone (most bounces).
        lowered = body_lowered(mail, text) if text == body_text(mail) else NOT_FOLDED
        if lowered is NOT_FOLDED:
            lowered = text.lower()  # may_match scans when the text does not fold exactly
        start = _START.search(text) if may_match(_START, text, lowered) else None
        if start is None:
            return None
        found: list[BounceFacts] = []
        for line in text[start.end() :].split("\n"):
            row = _ROW.match(line)
            if row:
                found.append(make_facts(row.group(1), row.group(2)))
            elif found and line.strip():
                break
        return found or None


DETECTOR = X1Detector()
