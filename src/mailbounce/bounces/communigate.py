"""CommuniGate Pro (Stalker) non-delivery reports.

Layout: Subject "Undeliverable mail: <subject>" (delays: "Delayed mail: ..."), ``X-Mailer:
CommuniGate Pro ...``; per recipient "Failed to deliver to '<addr>'" (or "Delivery to
'<addr>' delayed"), then the module that failed and its words: "SMTP module(domain
example.org) reports:" with "host: 550 5.1.1 ..." or "LOCAL module(account x) reports:" with
CommuniGate's own words ("account is full (disk quota exceeded)", "unknown user account").
"""

from __future__ import annotations

import re

from mailbounce.bounces import _mailtexts as mt
from mailbounce.bounces import _textblocks as tb
from mailbounce.bounces._markers import BODY, RECEIVED, Marker, Markers
from mailbounce.bounces.base import Mail
from mailbounce.lazy_patterns import lazy_compile
from mailbounce.models import BounceFacts, Reason

_MARK = lazy_compile(r"CommuniGate", re.I)
_ENTRY = lazy_compile(
    r"^(Failed to deliver to|Delivery to) '<?([^'>\s]+@[^'>\s]+)>?'(?: delayed)?\s*$", re.I | re.M
)
_MODULE = lazy_compile(r"^(\w+) module\(([^)]*)\) reports:\s*$", re.I | re.M)
_HOST_REPLY = lazy_compile(r"^\s*([\w.-]+\.[a-z]{2,}|\[[\d.]+\]):\s*", re.I)
_SENTENCES = tb.reason_table(
    (Reason.MAILBOXFULL, r"account is full|disk quota exceeded|mailbox is full"),
    (Reason.USERUNKNOWN, r"unknown user account|account .* not found|unknown user"),
    (Reason.HOSTUNKNOWN, r"domain name not found|unknown domain|host not found"),
    (Reason.SUSPEND, r"account is (disabled|suspended|closed)"),
    (Reason.EXPIRED, r"message delivery (timed out|time limit)|timed out"),
)


class CommunigateDetector:
    """CommuniGate Pro's report."""

    name = "communigate"

    # The first two tests of ``detect``, as data: False only when it surely finds nothing.
    # The second (CommuniGate named, or its module lines) spares the detector most reports
    # whose body says "delivery to" in a sentence (~5% of bounces ran it for nothing). It is
    # asked first (both must hold): one look-up through the body (" module(") says no to
    # most mail, where the entry lines' two phrases took two.
    gate = Markers(
        Marker("X-Mailer", _MARK),
        Marker(RECEIVED, _MARK),
        Marker(BODY, _MODULE),
        also=Markers(Marker(BODY, _ENTRY)),
    )

    def detect(self, mail: Mail) -> list[BounceFacts] | None:
        text = mt.body_text(mail)
        # ``_ENTRY.search(text)`` tried where its words are first: most bodies the gate lets
        # through say "delivery to" in a sentence (a case-insensitive scan otherwise, round 5).
        if mt.body_search(mail, _ENTRY) is None:
            return None
        entries = list(_ENTRY.finditer(text))
        if not (
            _MARK.search(mail.header("X-Mailer"))
            or mt.received_mentions(mail, _MARK)
            or mt.body_search(mail, _MODULE)
        ):
            return None
        facts = []
        for index, entry in enumerate(entries):
            end = entries[index + 1].start() if index + 1 < len(entries) else len(text)
            facts.append(_facts(entry, text[entry.end() : end]))
        return tb.with_dsn(mail, facts, text_required=True) or None


def _facts(entry: re.Match[str], block: str) -> BounceFacts:
    module = _MODULE.search(block)
    words = block[module.end() :] if module else block
    words = words.split("\n\n", 1)[0]
    host = _HOST_REPLY.match(words)
    remote = module is not None and module.group(1).upper() == "SMTP"
    return tb.make_facts(
        entry.group(2),
        words[host.end() :] if host else words,
        action="delayed" if entry.group(1).lower() == "delivery to" else "failed",
        reason_hint=None if remote else tb.own_reason(words, _SENTENCES),
        remote_mta=host.group(1) if host else None,
    )


DETECTOR = CommunigateDetector()
