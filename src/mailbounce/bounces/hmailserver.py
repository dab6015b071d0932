"""hMailServer (Windows) bounces.

Layout: "Your message did not reach some or all of the intended recipients.", "   Sent: ...",
"   Subject: ...", "The following recipient(s) could not be reached:", then per recipient the
address and indented lines "Error Type: SMTP", "Remote server (ip) issued an error.",
"hMailServer sent: RCPT TO:<addr>", "Remote server replied: 550 5.1.1 ...", ended by the line
"hMailServer".
"""

from __future__ import annotations

import re

from mailbounce.bounces import _mailtexts as mt
from mailbounce.bounces import _textblocks as tb
from mailbounce.bounces._markers import BODY, Marker, Markers
from mailbounce.bounces.base import Mail
from mailbounce.lazy_patterns import lazy_compile
from mailbounce.models import BounceFacts, Reason

_MARK = lazy_compile(r"hMailServer", re.I)
_START = lazy_compile(r"following recipient\(?s?\)? could not be reached:?\s*$", re.I)
_STOP = lazy_compile(r"^hMailServer\s*$", re.I)
_SENT = lazy_compile(r"hMailServer sent:\s*(\w+)", re.I)
_REPLIED = lazy_compile(r"Remote server replied:\s*(.*)", re.I | re.S)
_REMOTE = lazy_compile(r"Remote server \(([^)]*)\)", re.I)
# hMailServer's own words when no remote server answered.
_SENTENCES = tb.reason_table(
    (Reason.HOSTUNKNOWN, r"No mail servers? appears? to exists? for the recipients? address"),
    (Reason.NETWORKERROR, r"Unable to connect to|could not be resolved|DNS (query|lookup) failed"),
    (Reason.EXPIRED, r"maximum number of (delivery )?(attempts|retries)"),
    (Reason.MAILBOXFULL, r"mailbox is full|over quota"),
    (Reason.USERUNKNOWN, r"Unknown user|does not exist"),
)


class HmailserverDetector:
    """hMailServer's bounce."""

    name = "hmailserver"

    # The first test of ``detect``, as data: False only when it surely finds nothing.
    gate = Markers(
        Marker(BODY, _MARK),
    )

    def detect(self, mail: Mail) -> list[BounceFacts] | None:
        text = mt.body_text(mail)
        if not mt.body_search(mail, _MARK):
            return None
        facts = []
        for recipient, details in tb.address_blocks(tb.lines_between(text, _START, _STOP)):
            block = "\n".join(details)
            replied = _REPLIED.search(block)
            sent = _SENT.search(block)
            remote = _REMOTE.search(block)
            facts.append(
                tb.make_facts(
                    recipient,
                    replied.group(1) if replied else block,
                    reason_hint=None if replied else tb.own_reason(block, _SENTENCES),
                    remote_mta=remote.group(1) if remote else None,
                    smtp_command=sent.group(1).upper() if sent else None,
                )
            )
        return facts or None


DETECTOR = HmailserverDetector()
