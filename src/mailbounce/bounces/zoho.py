"""Zoho Mail bounces (mailer-daemon@mail.zoho.com, ``X-Mailer: Zoho Mail``).

Failure: after the lead text, one ``addr Invalid Address, ERROR_CODE :550, ERROR_CODE :text``
line per recipient. Delay warning (``THIS IS A WARNING MESSAGE ONLY``):
``[Status: Error, Address: <addr>, ResponseCode 421, , Host not reachable.]``.
"""

from __future__ import annotations

import re

from mailbounce.bounces._addressblocks import sentences, with_sentence_reason
from mailbounce.bounces._mailtexts import body_text
from mailbounce.bounces._markers import Marker, Markers
from mailbounce.bounces._textblocks import make_facts
from mailbounce.bounces.base import Mail
from mailbounce.lazy_patterns import lazy_compile
from mailbounce.models import BounceFacts, Reason

_MARKER = lazy_compile(r"zoho", re.I)
_FAILURE = lazy_compile(r"^\s*<?([^\s<>@]+@[\w.-]+\.\w+)>?\s+(\S.*ERROR_CODE\s*:.*)$", re.I | re.M)
_DELAY = lazy_compile(
    r"\[Status:\s*\w+,\s*Address:\s*<([^<>\s]+)>,\s*ResponseCode\s*(\d{3})?[ ,]*(.*?)\]",
    re.I | re.S,
)
_WARNING = lazy_compile(r"WARNING MESSAGE ONLY|will be retried", re.I)
_ERROR_CODE = lazy_compile(r"ERROR_CODE\s*:\s*", re.I)

_FIRST_CODE = lazy_compile(r"ERROR_CODE\s*:\s*([245]\d\d)\b", re.I)

_SENTENCES = sentences(
    (r"Host not reachable", Reason.EXPIRED, False),
)


def _code(line: str) -> str | None:
    """The reply code Zoho gives as the first ``ERROR_CODE :550`` of the line."""
    match = _FIRST_CODE.search(line)
    return match.group(1) if match else None


class ZohoDetector:
    """Zoho's failure lines and delay-warning brackets."""

    name = "zoho"

    # The first test of ``detect``, as data: False only when it surely finds nothing.
    gate = Markers(
        Marker("X-Mailer", _MARKER),
        Marker("From", _MARKER),
    )

    def detect(self, mail: Mail) -> list[BounceFacts] | None:
        if not (_MARKER.search(mail.header("X-Mailer")) or _MARKER.search(mail.sender)):
            return None
        text = body_text(mail)
        found = [
            make_facts(m.group(1), _ERROR_CODE.sub("", m.group(2)), replycode=_code(m.group(2)))
            for m in _FAILURE.finditer(text)
        ]
        action = "delayed" if _WARNING.search(text) else "failed"
        for m in _DELAY.finditer(text):
            diagnostic = f"{m.group(2) or ''} {m.group(3)}"
            facts = make_facts(m.group(1), diagnostic, action=action, replycode=m.group(2))
            found.append(with_sentence_reason(facts, _SENTENCES))
        return found or None


DETECTOR = ZohoDetector()
