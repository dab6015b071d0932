"""Barracuda Spam & Virus Firewall / Email Security Gateway blocking notices.

Layout: Subject "**Message you sent blocked by our bulk email filter**" (or "...by our spam
firewall**"), text "Your message to: addr\nwas blocked by our Spam & Virus Firewall. The email
you sent with the following subject has NOT BEEN DELIVERED:", and usually a
message/delivery-status part with "550 5.7.1 ... Message content rejected". The gateway says
why it blocked: its bulk/spam filter (spamdetected) or its virus scanner (virusdetected).
"""

from __future__ import annotations

import re

from mailbounce.bounces import _mailtexts as mt
from mailbounce.bounces import _textblocks as tb
from mailbounce.bounces._markers import BODY, Marker, Markers
from mailbounce.bounces.base import Mail
from mailbounce.lazy_patterns import lazy_compile
from mailbounce.models import BounceFacts, Reason

_SUBJECT = lazy_compile(r"^\*\*Message you sent blocked by", re.I)
_MARK = lazy_compile(r"Spam (&|and) Virus Firewall|Barracuda", re.I)
_RECIPIENT = lazy_compile(r"^Your message to:\s*<?(\S+@[^>\s]+)>?", re.I | re.M)
_VERDICTS = tb.reason_table(
    (Reason.VIRUSDETECTED, r"\bvirus (was )?(found|detected)|contains? a virus"),
    (Reason.SPAMDETECTED, r"bulk e-?mail filter|spam firewall|\bspam\b"),
)


class BarracudaDetector:
    """Barracuda's blocking notice."""

    name = "barracuda"

    # The first test of ``detect``, as data: False only when it surely finds nothing.
    gate = Markers(
        Marker("Subject", _SUBJECT),
        Marker(BODY, _MARK, 1000),
    )

    def detect(self, mail: Mail) -> list[BounceFacts] | None:
        text = mt.body_text(mail)
        if not (_SUBJECT.search(mail.subject) or mt.body_search(mail, _MARK, 1000)):
            return None
        verdict = tb.own_reason(mail.subject, _VERDICTS)
        facts = [
            tb.make_facts(m.group(1), tb.squeeze(text[:600])) for m in _RECIPIENT.finditer(text)
        ]
        # Its subject is proof; the product name in a text is not.
        merged = tb.with_dsn(mail, facts, text_required=not _SUBJECT.search(mail.subject))
        if verdict is None:
            return merged or None
        return [tb.with_hint(fact, verdict) for fact in merged] or None


DETECTOR = BarracudaDetector()
