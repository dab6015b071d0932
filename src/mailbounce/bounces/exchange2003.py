"""Microsoft Exchange 5.5 / 2000 / 2003 non-delivery reports (Internet Mail Service).

Layout: "Your message\n  To: ...\n  Subject: ...\n  Sent: ...\ndid not reach the following
recipient(s):" then per recipient "addr on <date>" followed by indented lines: Exchange's
sentence ("The recipient name is not recognized") and an ``MSEXCH:IMS:...`` line ending with
the hexadecimal NDR code ("(000C05A6) Unknown Recipient"). No SMTP codes: the sentence and the
NDR code are Exchange's own, so they name the reason.
"""

from __future__ import annotations

import re

from mailbounce.bounces import _mailtexts as mt
from mailbounce.bounces import _textblocks as tb
from mailbounce.bounces._markers import BODY, Marker, Markers
from mailbounce.bounces.base import Mail
from mailbounce.lazy_patterns import lazy_compile
from mailbounce.models import BounceFacts, Reason

_MAILER = lazy_compile(r"Internet Mail Service|Microsoft Exchange", re.I)
_START = lazy_compile(r"^did not reach the following recipient", re.I | re.M)
_STOP = lazy_compile(r"^-{3,}|^Content-Type:", re.I)
_RECIPIENT_LINE = lazy_compile(r"^\s*(\S+@\S+?)\s+on\s+\w", re.I)
_MSEXCH = lazy_compile(r"MSEXCH:[\w:]*", re.I)
_NDR_CODE = lazy_compile(r"\(([0-9A-F]{8})\)")
# Exchange's NDR codes and sentences (MSEXCH:IMS / MSEXCH:MSExchangeMTA).
_CODES = {
    "000C05A6": Reason.USERUNKNOWN,  # Unknown Recipient: the recipient name is not recognized
    "000C0595": Reason.FILTERED,  # Ambiguous Recipient
}
_SENTENCES = tb.reason_table(
    (Reason.USERUNKNOWN, r"recipient name is not recognized|e-?mail account does not exist"),
    (Reason.HOSTUNKNOWN, r"destination (e-?mail )?system is unknown or invalid"),
    (Reason.MAILBOXFULL, r"mailbox is full|exceeded (its|the) storage limit"),
    (Reason.EXPIRED, r"delivery attempts|could not be delivered within|timed out"),
    (Reason.FILTERED, r"delivery was refused|not authorized to send"),
    (Reason.MESGTOOBIG, r"message (size|length) exceeds"),
    (Reason.SYSTEMERROR, r"No transport provider was available"),
)


class Exchange2003Detector:
    """Exchange 5.5-2003 NDR text."""

    name = "exchange2003"

    # The first test of ``detect``, as data: False only when it surely finds nothing.
    gate = Markers(
        Marker(BODY, _START),
        Marker(BODY, _MSEXCH),
    )

    def detect(self, mail: Mail) -> list[BounceFacts] | None:
        text = mt.body_text(mail)
        if not (mt.body_search(mail, _START) or mt.body_search(mail, _MSEXCH)):
            return None
        if not (
            _MSEXCH.search(text)
            or _MAILER.search(mail.header("X-Mailer"))
            or mt.received_mentions(mail, _MAILER)
        ):
            return None
        lines = tb.lines_between(text, _START, _STOP)
        records: list[BounceFacts] = []
        current: list[str] = []
        recipient = None
        for line in [*lines, "end@end.invalid on x"]:
            found = _RECIPIENT_LINE.match(line)
            if found is None:
                current.append(line)
                continue
            if recipient is not None:
                records.append(_facts(recipient, current))
            recipient, current = found.group(1), []
        return records or None


def _facts(recipient: str, lines: list[str]) -> BounceFacts:
    diagnostic = tb.squeeze(" ".join(lines))
    code = _NDR_CODE.search(diagnostic)
    hint = _CODES.get(code.group(1).upper()) if code else None
    return tb.make_facts(
        recipient,
        diagnostic,
        reason_hint=hint or tb.own_reason(diagnostic, _SENTENCES),
    )


DETECTOR = Exchange2003Detector()
