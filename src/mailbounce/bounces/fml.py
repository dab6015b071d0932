"""fml (Japanese mailing-list manager) refusals and error notices.

Layout: an ``X-MLServer: fml [fml x.y]`` header, From "list-admin@domain", a Message-ID with
".FML"; the Subject names the event ("NOT MEMBER article from x", "reject mail from x",
"fml system error message", "Loop Alert: ...", "Security Alert"), the text quotes the refused
address in angle brackets, then "Original mail as follows:". The list refused the poster:
the record's recipient is the refused address quoted in the text (else the notice's To).
"""

from __future__ import annotations

import re

from mailbounce.bounces import _mailtexts as mt
from mailbounce.bounces import _textblocks as tb
from mailbounce.bounces._markers import PRESENT, Marker, Markers
from mailbounce.bounces.base import Mail
from mailbounce.lazy_patterns import lazy_compile
from mailbounce.models import BounceFacts, Reason

_SEPARATOR = lazy_compile(r"^Original mail as follows:", re.I | re.M)
_BRACKETED = lazy_compile(r"<([^<>\s]+@[^<>\s]+)>")
_EVENTS = tb.reason_table(
    (
        Reason.REJECTED,
        r"are not (a )?member|is not (a )?member|NOT MEMBER article|reject(ed)? mail"
        r"|Spam mail from a spammer is rejected",
    ),
    (Reason.SECURITYERROR, r"Security Alert"),
    (Reason.SYSTEMERROR, r"fml system error|Loop Alert|Loop Back Warning|UNIX FROM Loop"),
)


class FmlDetector:
    """fml's notice to a poster."""

    name = "fml"

    # The first test of ``detect``, as data: without the header its value is "".
    gate = Markers(Marker("X-MLServer", PRESENT))

    def detect(self, mail: Mail) -> list[BounceFacts] | None:
        if not mail.header("X-MLServer").lower().startswith("fml"):
            return None
        text = tb.cut_at(mt.body_text(mail), _SEPARATOR)
        reason = tb.own_reason(mail.subject, _EVENTS) or tb.own_reason(text, _EVENTS)
        if reason is None:
            return None
        # One notice is about one refused post: the first quoted address is the one refused
        # (later ones are fml's help addresses, "-ctl" and the like).
        quoted = _BRACKETED.search(text)
        recipient = quoted.group(1) if quoted else tb.first_address(mail.header("To"))
        if recipient is None:
            return None
        return [tb.make_facts(recipient, tb.squeeze(text), reason_hint=reason)]


DETECTOR = FmlDetector()
