"""Lotus Notes / Domino SMTP MTA "Undeliverable message" bounces (no delivery-status part).

Layout: ``------- Failure Reasons  --------``, then per recipient the reason line(s) and the
address alone on a line, then ``------- Returned Message --------``.
"""

from __future__ import annotations

import re

from mailbounce.bounces._addressblocks import jis_decoded, sentences, with_sentence_reason
from mailbounce.bounces._mailtexts import body_text
from mailbounce.bounces._markers import BODY, Marker, Markers
from mailbounce.bounces._textblocks import make_facts
from mailbounce.bounces.base import Mail
from mailbounce.lazy_patterns import lazy_compile
from mailbounce.models import BounceFacts, Reason

_START = lazy_compile(r"^-+\s*Failure Reasons\s*-+\s*$", re.I | re.M)
_STOP = lazy_compile(r"^-+\s*Returned Message\s*-+\s*$", re.I | re.M)
_ADDRESS_LINE = lazy_compile(r"^\s*<?([^\s<>@]+@[\w.-]+\.\w+)>?\s*$")
_JIS_ESCAPE = lazy_compile("\x1b\\$")  # the text is re-read as ISO-2022-JP (jis_decoded)

# Domino's router texts (English and Japanese Notes) for its own findings.
_SENTENCES = sentences(
    (r"not listed in (the )?public Name (&|and) Address Book", Reason.USERUNKNOWN, True),
    (r"ディレクトリのリストにありません", Reason.USERUNKNOWN, True),
    (r"No route found to domain|Unable to find route", Reason.HOSTUNKNOWN, True),
    (r"exceeded maximum hop count", Reason.NETWORKERROR, True),
    (r"mail ?file is full|exceeded? (its|the) (quota|size limit)", Reason.MAILBOXFULL, True),
)


class NotesDetector:
    """Lotus Notes bounces: reasons then addresses between the two dashed rules."""

    name = "notes"

    # ``detect`` reads the body as is unless it holds JIS escapes (base.GatedDetector).
    gate = Markers(Marker(BODY, _START), Marker(BODY, _JIS_ESCAPE))

    def detect(self, mail: Mail) -> list[BounceFacts] | None:
        text = jis_decoded(body_text(mail))
        start = _START.search(text)
        if start is None:
            return None
        stop = _STOP.search(text, start.end())
        section = text[start.end() : stop.start() if stop else len(text)]
        found: list[BounceFacts] = []
        reason_lines: list[str] = []
        for line in section.split("\n"):
            address = _ADDRESS_LINE.match(line)
            if address is None:
                if line.strip():
                    reason_lines.append(line.strip())
                continue
            # Each address takes the reason lines written just above it (one reason may
            # serve several addresses listed together).
            diagnostic = " ".join(reason_lines) or (found[-1].diagnostic if found else "")
            facts = make_facts(address.group(1), diagnostic)
            found.append(with_sentence_reason(facts, _SENTENCES))
            reason_lines = []
        return found or None


DETECTOR = NotesDetector()
