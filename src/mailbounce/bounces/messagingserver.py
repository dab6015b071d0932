"""Oracle (Sun, iPlanet) Communications Messaging Server and PMDF notifications.

Layout: "This report relates to a message you sent with the following header fields:", then
"Your message cannot be delivered to the following recipients:" (or "...has been delayed and
is still awaiting delivery to the following recipients:"), and per recipient an indented group
"Recipient address: x", "Original address: x", "Reason: <the server's summary>",
"Diagnostic code: smtp; 550 ...", "Remote system: dns; host (...)". Most versions add a
message/delivery-status part; PMDF and older ones send the text alone.
"""

from __future__ import annotations

import re

from mailbounce.bounces import _mailtexts as mt
from mailbounce.bounces import _textblocks as tb
from mailbounce.bounces._markers import BODY, Marker, Markers
from mailbounce.bounces.base import Mail
from mailbounce.lazy_patterns import lazy_compile
from mailbounce.models import BounceFacts, Reason

_MARK = lazy_compile(r"This report relates to a message you sent", re.I)
_START = lazy_compile(
    r"^Your message (cannot be delivered|has been delayed|has been enqueued)", re.I | re.M
)
_FIELD = lazy_compile(
    r"^\s+(Recipient address|Original address|Reason|Diagnostic code|Remote system):\s*(.*)$",
    re.I | re.M,
)
_SENTENCES = tb.reason_table(
    (Reason.HOSTUNKNOWN, r"Illegal host/domain name found|host/domain name not found"),
    (Reason.MAILBOXFULL, r"over quota|mailbox is full"),
    (Reason.USERUNKNOWN, r"no such user|unknown user|User unknown"),
    (Reason.EXPIRED, r"unable to deliver this message after"),
)


class MessagingserverDetector:
    """Oracle Messaging Server / PMDF notification."""

    name = "messagingserver"

    # The first test of ``detect``, as data: False only when it surely finds nothing.
    gate = Markers(
        Marker(BODY, _MARK, 1500),
    )

    def detect(self, mail: Mail) -> list[BounceFacts] | None:
        text = mt.body_text(mail)
        if not mt.body_search(mail, _MARK, 1500):
            return None
        start = mt.body_search(mail, _START)  # tried where its words are (round 5)
        if start is None:
            return None
        delayed = "cannot" not in start.group(1).lower()
        records: list[dict[str, str]] = []
        for match in _FIELD.finditer(text[start.end() :]):
            name, value = match.group(1).lower(), match.group(2).strip()
            if name == "recipient address":
                records.append({})
            if records:
                records[-1].setdefault(name, value)
        facts = [_facts(r, delayed) for r in records if tb.ADDRESS.search(r["recipient address"])]
        return tb.with_dsn(mail, facts, text_required=True) or None


def _facts(fields: dict[str, str], delayed: bool) -> BounceFacts:
    diagnostic = fields.get("diagnostic code", "")
    diagnostic = diagnostic.split(";", 1)[1] if ";" in diagnostic[:10] else diagnostic
    summary = fields.get("reason", "")
    remote = fields.get("remote system", "")
    remote = remote.split(";", 1)[1].split()[0] if ";" in remote else remote
    return tb.make_facts(
        tb.first_address(fields["recipient address"]) or "",
        diagnostic or summary,
        action="delayed" if delayed else "failed",
        reason_hint=None if diagnostic else tb.own_reason(summary, _SENTENCES),
        remote_mta=remote or None,
    )


DETECTOR = MessagingserverDetector()
