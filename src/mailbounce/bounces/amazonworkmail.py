"""Amazon WorkMail bounces (``X-Mailer: Amazon WorkMail``, sent through SES).

Layout: a text/plain part "An error occurred while trying to deliver the mail to the following
recipients:" with the addresses, then "Technical report:" followed by RFC 3464 per-recipient
fields written as plain text (no message/delivery-status part), then the original as
message/rfc822. Expiry reports end with the last remote reply in angle brackets
("554 4.4.7 Message expired: unable to deliver in 840 minutes.<421 4.4.2 Connection timed
out>"): that reply is the specific one.
"""

from __future__ import annotations

import re

from mailbounce.bounces import _mailtexts as mt
from mailbounce.bounces import _textblocks as tb
from mailbounce.bounces._markers import Marker, Markers
from mailbounce.bounces.base import Mail
from mailbounce.bounces.rfc3464 import facts_from_fields, strip_type
from mailbounce.lazy_patterns import lazy_compile
from mailbounce.models import BounceFacts, Reason

_MAILER = lazy_compile(r"Amazon WorkMail", re.I)
_REPORT = lazy_compile(r"^Technical report:\s*$", re.I | re.M)
_LAST_REPLY = lazy_compile(r"<([245]\d\d) ([245]\.\d{1,3}\.\d{1,3})\b[^<>]*>\s*$")
_EXPIRED = lazy_compile(r"Message expired", re.I)


class AmazonworkmailDetector:
    """Amazon WorkMail's text report."""

    name = "amazonworkmail"

    # The first test of ``detect``, as data: False only when it surely finds nothing.
    gate = Markers(
        Marker("X-Mailer", _MAILER),
    )

    def detect(self, mail: Mail) -> list[BounceFacts] | None:
        if not _MAILER.search(mail.header("X-Mailer")):
            return None
        text = mt.body_text(mail)
        report = _REPORT.search(text)
        if report is None:
            return None
        blocks = tb.field_blocks(text[report.end() :])
        if not blocks:
            return None
        reporting = strip_type(blocks[0].get("reporting-mta", "")) or None
        facts = [facts_from_fields(b, reporting) for b in blocks]
        return [_last_reply(f) for f in facts if f is not None] or None


def _last_reply(fact: BounceFacts) -> BounceFacts:
    last = _LAST_REPLY.search(fact.diagnostic)
    if last is None:
        return fact.amended(replycode=fact.replycode or tb.reply_code(fact.diagnostic))
    hint = Reason.EXPIRED if _EXPIRED.search(fact.diagnostic) else None
    return fact.amended(replycode=last.group(1), status=last.group(2), reason_hint=hint)


DETECTOR = AmazonworkmailDetector()
