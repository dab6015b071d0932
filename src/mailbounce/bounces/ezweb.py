"""au by KDDI EZweb (ezweb.ne.jp) mobile mail bounces.

Layout: Japanese sentences, then either an EZweb sentence followed by ``<addr>`` lines ("The
user(s) account is disabled.", "...temporarily over quota"), or "Each of the following
recipients was rejected by a remote mail server." with "Recipient: <addr>", ">>> RCPT TO:..."
and "<<< 550 ..." lines. Some carry a message/delivery-status part as well.
"""

from __future__ import annotations

import re

from mailbounce.bounces import _mailtexts as mt
from mailbounce.bounces import _textblocks as tb
from mailbounce.bounces._markers import Marker, Markers
from mailbounce.bounces.base import Mail
from mailbounce.lazy_patterns import lazy_compile
from mailbounce.models import BounceFacts, Reason

_FROM = lazy_compile(r"postmaster@(ezweb\.ne\.jp|au\.com)", re.I)  # EZweb moved to au.com
_RECIPIENT = lazy_compile(r"^\s*(?:Recipient:\s*)?<(\S+@[^>\s]+)>:?\s*(.*)$", re.I | re.M)
_COMMAND = lazy_compile(r"^\s*>>> (\w+)", re.M)
_SENTENCES = tb.reason_table(
    (Reason.MAILBOXFULL, r"account is temporarily over quota"),
    (Reason.SUSPEND, r"account is (disabled|temporarily limited)"),
    (Reason.NOTACCEPT, r"following recipients did not receive this message"),
    (Reason.EXPIRED, r"not delivered within \d+ days|Remote host is not responding"),
)


class EzwebDetector:
    """EZweb's text bounce."""

    name = "ezweb"

    # The first test of ``detect``, as data: False only when it surely finds nothing.
    gate = Markers(
        Marker("From", _FROM),
    )

    def detect(self, mail: Mail) -> list[BounceFacts] | None:
        if not _FROM.search(mail.sender):
            return None
        text = mt.body_text(mail)
        matches = list(_RECIPIENT.finditer(text))
        if not matches:
            return None
        lead = text[: matches[0].start()]
        hint = tb.own_reason(lead, _SENTENCES)
        records = []
        for index, match in enumerate(matches):
            end = matches[index + 1].start() if index + 1 < len(matches) else len(text)
            block = match.group(2) + "\n" + text[match.end() : end]
            command = _COMMAND.search(block)
            reply = "\n".join(
                line.strip().removeprefix("<<<").strip()
                for line in block.split("\n")
                if not line.strip().startswith(">>>")
            )
            records.append(
                tb.make_facts(
                    match.group(1),
                    reply or lead,
                    reason_hint=hint,
                    smtp_command=command.group(1).upper() if command else None,
                )
            )
        return tb.with_dsn(mail, records, text_required=True) or None


DETECTOR = EzwebDetector()
