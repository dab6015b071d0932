"""Mail.Ru bounces: Exim's layout, preceded by the same list in Russian.

Layout: "Это письмо создано автоматически сервером Mail.Ru...", the Russian list, a line of
asterisks, then Exim's English bounce text. Only the English part is read (Exim's parser), so
each recipient is counted once.
"""

from __future__ import annotations

import re

from mailbounce.bounces import _mailtexts as mt
from mailbounce.bounces._eximtext import body_records
from mailbounce.bounces._markers import RECEIVED, Marker, Markers
from mailbounce.bounces.base import Mail
from mailbounce.lazy_patterns import lazy_compile
from mailbounce.models import BounceFacts

_FROM = lazy_compile(r"mailer-daemon@(?:[\w-]+\.)*(mail\.ru|bk\.ru|list\.ru|inbox\.ru)", re.I)
_MARK = lazy_compile(r"\b(smtp|mx)\d*\.mail\.ru\b|Mail\.Ru", re.I)


class MailruDetector:
    """Mail.Ru's bilingual Exim bounce."""

    name = "mailru"

    # The first test of ``detect``, as data: False only when it surely finds nothing.
    gate = Markers(
        Marker("From", _FROM),
        Marker(RECEIVED, _MARK),
    )

    def detect(self, mail: Mail) -> list[BounceFacts] | None:
        if not recognises(mail):
            return None
        text = mt.body_text(mail)
        records = body_records(mail, text)
        return records or None


def recognises(mail: Mail) -> bool:
    """A Mail.Ru sender, or a Mail.Ru relay whose text says it is Mail.Ru's."""
    if _FROM.search(mail.sender):
        return True
    return mt.received_mentions(mail, _MARK) and "Mail.Ru" in mt.body_text(mail)[:1000]


DETECTOR = MailruDetector()
