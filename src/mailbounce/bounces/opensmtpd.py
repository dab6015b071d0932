"""OpenSMTPD bounces ("Delivery status notification: failed / delayed").

``Hi!`` / ``This is the MAILER-DAEMON, please DO NOT REPLY to this e-mail.``, a lead sentence
(``An error has occurred while attempting to deliver a message for the following list of
recipients:`` or ``A message is delayed for more than ... for the following list of
recipients:``), one ``addr: error`` line per recipient, then ``Below is a copy of the
original message:``. Since 6.x a message/delivery-status part repeats the recipients with an
empty Diagnostic-Code and a generic status: the text adds the error and its codes.
"""

from __future__ import annotations

import re

from mailbounce.bounces._addressblocks import sentences, with_sentence_reason
from mailbounce.bounces._mailtexts import body_search, body_text, received_joined
from mailbounce.bounces._markers import BODY, RECEIVED, Marker, Markers
from mailbounce.bounces._textblocks import cut_at, make_facts, reply_code
from mailbounce.bounces.base import Mail
from mailbounce.bounces.rfc3464 import best_status, parse_delivery_status
from mailbounce.lazy_patterns import lazy_compile
from mailbounce.models import BounceFacts, Reason

_LEAD = lazy_compile(r"This is the MAILER-DAEMON, please DO NOT REPLY", re.I)
_SUBJECT = lazy_compile(r"^Delivery status notification", re.I)
_SEPARATOR = lazy_compile(r"^\s*Below is a copy of the original message", re.I | re.M)
_DELAYED = lazy_compile(r"is delayed for more than|only a temporary failure", re.I)
_NAME = lazy_compile(r"OpenSMTPD")  # in the Received headers, as ``detect`` looks for it
_ROW = lazy_compile(r"^\s*<?([^\s<>@:]+@[^\s<>@:]+?)>?:\s+(\S.*)$", re.M)

# OpenSMTPD's own findings (mta.c, lka): no remote reply behind them.
_SENTENCES = sentences(
    (r"^Domain does not exist|^Invalid domain name", Reason.HOSTUNKNOWN, True),
    (r"^No MX found for domain|^Domain has a null MX", Reason.NOTACCEPT, True),
    (r"^Envelope expired|^Message expired", Reason.EXPIRED, True),
    (r"^Network error on destination MXs|^Could not connect", Reason.NETWORKERROR, True),
    (r"^Loop detected", Reason.NETWORKERROR, True),
    (r"^Invalid recipient|^Unknown user", Reason.USERUNKNOWN, True),
    (r"^Mailbox is full|^Quota exceeded", Reason.MAILBOXFULL, True),
)


def _rows(text: str) -> dict[str, str]:
    """recipient -> error, from the ``addr: error`` lines before the copy."""
    return {m.group(1).lower(): m.group(2).strip() for m in _ROW.finditer(text)}


def _with_text(facts: BounceFacts, error: str) -> BounceFacts:
    diagnostic = facts.diagnostic or error
    # OpenSMTPD writes ``4.0.0``/``5.0.0`` (ESC_OTHER_STATUS) when it knows no code: only the
    # notice's class, which the action already says. A code in the error text is a real one.
    status = None if (facts.status or "").endswith(".0.0") else facts.status
    completed = facts.amended(
        diagnostic=diagnostic,
        status=best_status(status, diagnostic),
        replycode=facts.replycode or reply_code(diagnostic),
    )
    return with_sentence_reason(completed, _SENTENCES)


class OpenSmtpdDetector:
    """OpenSMTPD failure and delay notices, with or without their report part."""

    name = "opensmtpd"

    # The first test of ``detect``, as data: False only when it surely finds nothing. It is
    # "lead, or (subject and OpenSMTPD in Received)": (lead or subject) and (lead or
    # Received), so the Delivery Status Notifications of other MTAs (Exchange, Gmail: ~10% of
    # bounces) are not read for nothing.
    gate = Markers(
        Marker(BODY, _LEAD, 300),
        Marker("Subject", _SUBJECT),
        also=Markers(Marker(BODY, _LEAD, 300), Marker(RECEIVED, _NAME)),
    )

    def detect(self, mail: Mail) -> list[BounceFacts] | None:
        text = body_text(mail)
        if not (
            body_search(mail, _LEAD, 300)  # ``_LEAD.search(text[:300])`` where its words are
            or (
                _SUBJECT.search(mail.subject)
                # The Received headers joined once per message hold the name wherever the
                # list's text does (a ``str`` value's repr keeps its letters): most do not.
                and "OpenSMTPD" in received_joined(mail)[0]
                and "OpenSMTPD" in str(mail.msg.get_all("Received") or "")
            )
        ):
            return None
        rows = _rows(cut_at(text, _SEPARATOR))
        reported = parse_delivery_status(mail)
        if reported:
            return [_with_text(f, rows.get(f.recipient.lower(), "")) for f in reported]
        action = "delayed" if body_search(mail, _DELAYED) else "failed"
        found = [
            with_sentence_reason(make_facts(rcpt, error, action=action), _SENTENCES)
            for rcpt, error in rows.items()
        ]
        return found or None


DETECTOR = OpenSmtpdDetector()
