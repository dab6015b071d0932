"""GMX (United Internet) bounces, the layout 1&1 / IONOS share (see ``einsundeins``).

Layout: "This message was created automatically by mail delivery software.", "...The following
address failed:" then the address alone on a line (``"addr":`` or ``<addr>``), then the
details ("SMTP error from remote server after RCPT command:", "host: mx", the reply; or
"Reason:" and United Internet's own words such as "delivery retry timeout exceeded"), then
"--- The header of the original message is following. ---".
"""

from __future__ import annotations

import re

from mailbounce.bounces import _mailtexts as mt
from mailbounce.bounces import _textblocks as tb
from mailbounce.bounces._markers import BODY, Marker, Markers
from mailbounce.bounces.base import Mail
from mailbounce.lazy_patterns import lazy_compile
from mailbounce.models import BounceFacts, Reason

_FROM = lazy_compile(r"mailer-daemon@(?:[\w-]+\.)*gmx\.(net|com|de|at|ch|fr)", re.I)
_MARK = lazy_compile(r"gmx\.(net|com)|\(Nemesis\)", re.I)
_START = lazy_compile(r"following address(?:es)?\s*$|following address(?:es)? failed:?\s*$", re.I)
_STOP = lazy_compile(r"^-{2,} The header of the original message|^-{2,} ?This is a copy", re.I)
_RECIPIENT = lazy_compile(r"^\s*[\"<]?([^\s\"<>]+@[^\s\"<>]+?)[\">]?:?\s*$")
_SEPARATOR = lazy_compile(r"^-{2,} The header of the original message is following", re.I | re.M)
_LABELS = lazy_compile(r"^(Reason|For the following reason|failed):?\s*$", re.I)
_HOST = lazy_compile(r"^host:?\s+(\S+)", re.I | re.M)
_COMMAND = lazy_compile(r"after (RCPT|MAIL|DATA|end of data)", re.I)
_SENTENCES = tb.reason_table(
    (Reason.EXPIRED, r"delivery retry timeout exceeded|retry timeout exceeded"),
    (Reason.MESGTOOBIG, r"(mail|message) size limit exceeded"),
    (Reason.MAILBOXFULL, r"mailbox quota exceeded|mailbox is full"),
    (Reason.HOSTUNKNOWN, r"domain (name )?not found|host not found|no mx"),
)


class GmxDetector:
    """GMX's text bounce."""

    name = "gmx"

    # The first test of ``detect``, as data: False only when it surely finds nothing.
    gate = Markers(
        Marker("From", _FROM),
        Marker(BODY, _SEPARATOR),
    )

    def detect(self, mail: Mail) -> list[BounceFacts] | None:
        if not recognises(mail):
            return None
        return parse_united_internet(mt.body_text(mail))


def recognises(mail: Mail) -> bool:
    """GMX's sender, or a GMX trace together with United Internet's own separator.

    A Received trace alone is no proof: a mailbox hosted at GMX sees GMX in every message.
    """
    if _FROM.search(mail.sender):
        return True
    return mt.received_mentions(mail, _MARK) and bool(_SEPARATOR.search(mt.body_text(mail)))


def parse_united_internet(text: str) -> list[BounceFacts] | None:
    """Records from the GMX / 1&1 layout (an address line, then its detail lines)."""
    rows: list[tuple[str, list[str]]] = []
    for line in tb.lines_between(text, _START, _STOP):
        found = _RECIPIENT.match(line)
        if found:
            rows.append((found.group(1), []))
        elif rows and line.strip() and not _LABELS.match(line.strip()):
            rows[-1][1].append(line.strip())
    records = []
    for recipient, lines in rows:
        detail = "\n".join(lines)
        remote = "SMTP error from remote" in detail
        host = _HOST.search(detail)
        command = _COMMAND.search(detail)
        records.append(
            tb.make_facts(
                recipient,
                detail,
                reason_hint=None if remote else tb.own_reason(detail, _SENTENCES),
                remote_mta=host.group(1) if host else None,
                smtp_command=command.group(1).upper() if command else None,
            )
        )
    return records or None


DETECTOR = GmxDetector()
