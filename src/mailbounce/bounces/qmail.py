"""qmail-send "failure notice" bounces, and the qmail forks that keep its layout.

netqmail, notqmail, vpopmail (vdelivermail) and qmail-ldap all bounce through qmail-send
(qmail-send.c): ``Hi. This is the qmail-send program at HOST.``, one ``<addr>:`` block per
recipient, then ``--- Below this line is a copy of the message.`` (``--- Enclosed is a copy``
when the copy is attached). qmail-ldap and site patches translate the lead sentence (German,
French), so the layout, not the English wording, is what is recognised.
"""

from __future__ import annotations

import re

from mailbounce.bounces._addressblocks import address_blocks, block_facts, sentences
from mailbounce.bounces._mailtexts import body_search, body_text, received_mentions
from mailbounce.bounces._markers import BODY, RECEIVED, Marker, Markers
from mailbounce.bounces._textblocks import cut_at, with_dsn
from mailbounce.bounces.base import Mail
from mailbounce.lazy_patterns import lazy_compile
from mailbounce.models import BounceFacts, Reason

_LEAD = lazy_compile(
    r"This is the qmail|qmail-send[ -](program|Programm|programme)|(programme?|Programm) qmail"
    r"|das qmail|Hi\. This is the .{0,40}program at",
    re.IGNORECASE,
)
_BOUNCE_TRACE = lazy_compile(r"\(qmail \d+ invoked for bounce\)")
# qmail-send.c and its translations: the line that starts the returned copy.
_SEPARATOR = lazy_compile(
    r"^--- ?(Below this line is a copy|Enclosed is a copy|Original message follows"
    r"|Unten folgt eine Kopie|Nachfolgend eine Kopie|Ci-dessous une copie|Voici une copie"
    r"|Une copie du message)",
    re.IGNORECASE | re.MULTILINE,
)
_REPORTER = lazy_compile(
    r"program(?:me|m)?(?: qmail-send)? (?:at|auf|sur) ([\w.-]+?)\.?\s*$", re.I | re.M
)

# qmail-remote.c / qmail-send.c / qmail-ldap sentences (the reporting MTA's own findings
# decide; the ones that frame a remote reply decide only when that reply is vague).
_SENTENCES = sentences(
    (r"couldn't find any host (named|by that name)", Reason.HOSTUNKNOWN, True),
    (r"couldn't find a mail exchanger or IP address", Reason.NOTACCEPT, True),
    (
        r"no mailbox here by that name|aucune bo[iî]te .{0,20}ce nom|keine Mailbox",
        Reason.USERUNKNOWN,
        True,
    ),
    (r"wasn't able to establish an SMTP connection", Reason.NETWORKERROR, True),
    (r"listed as a best-preference MX", Reason.NETWORKERROR, True),
    (r"Mailaddress is administrativ\w* disabled", Reason.SUSPEND, True),
    (r"exceeded? the maximum size the user accepts", Reason.EXCEEDLIMIT, True),
    (r"LDAP (server|lookup|attribute)|homedir creat|qmail-forward", Reason.SYSTEMERROR, True),
    (
        r"(mailfolder|mailbox) is (over the allowed quota|full)|over quota|disk quota",
        Reason.MAILBOXFULL,
        False,
    ),
    (r"not enough free space", Reason.SYSTEMFULL, False),
    (r"my name was rejected", Reason.BLOCKED, False),
    (r"sender was rejected", Reason.REJECTED, False),
    (r"connection died|greeting failed", Reason.NETWORKERROR, False),
    (r"Message size exceeds fixed maximum", Reason.MESGTOOBIG, False),
    (
        # qmail-local's own failures (the block starts with them; a remote reply would not)
        r"^Unable to (chdir|open|write|read|switch|forward|run)|bad interpreter",
        Reason.SYSTEMERROR,
        True,
    ),
    (r"in the queue too long", Reason.EXPIRED, False),
)


class QmailDetector:
    """qmail-send bounces: ``<addr>:`` blocks before the copy of the message."""

    name = "qmail"

    # The first test of ``detect``, as data: False only when it surely finds nothing.
    gate = Markers(
        Marker(BODY, _LEAD, 400),
        Marker(RECEIVED, _BOUNCE_TRACE),
    )

    def detect(self, mail: Mail) -> list[BounceFacts] | None:
        text = body_text(mail)
        if not (body_search(mail, _LEAD, 400) or received_mentions(mail, _BOUNCE_TRACE)):
            return None
        report = cut_at(text, _SEPARATOR)
        reporter = _REPORTER.search(report[:400])
        found = block_facts(
            address_blocks(report),
            _SENTENCES,
            reporting_mta=reporter.group(1) if reporter else None,
        )
        return with_dsn(mail, found) or None  # qmail-dsn patches add a report part


DETECTOR = QmailDetector()
