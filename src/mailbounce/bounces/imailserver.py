"""Ipswitch IMail Server bounces (``X-Mailer: <SMTP32 vX.Y>``).

Layout: one line per recipient "<IMail's sentence>: addr" ("Unknown user: x", "User mailbox
exceeds allowed size: x", "Invalid final delivery userid: x") or "undeliverable to addr" followed
by "Body of message generated response:" and the remote reply lines, then "Original message
follows.".
"""

from __future__ import annotations

import re

from mailbounce.bounces import _mailtexts as mt
from mailbounce.bounces import _textblocks as tb
from mailbounce.bounces._markers import Marker, Markers
from mailbounce.bounces.base import Mail
from mailbounce.lazy_patterns import lazy_compile
from mailbounce.models import BounceFacts, Reason

_MAILER = lazy_compile(r"<SMTP32 v|IMail", re.I)
_SEPARATOR = lazy_compile(r"^Original message follows\.?\s*$", re.I | re.M)
_LINE = lazy_compile(
    r"^\s*(?!(?:To|Cc|Bcc|From|Date|Subject|Reply-To|Sender)\s*:)"
    r"(?:(.+?):\s*|undeliverable to\s+)<?(\S+@[\w.-]+\w)>?\s*$",
    re.I | re.M,
)
_SENTENCES = tb.reason_table(
    (Reason.USERUNKNOWN, r"^(Unknown user|Invalid final delivery userid)"),
    (Reason.HOSTUNKNOWN, r"^Unknown host"),
    (Reason.MAILBOXFULL, r"^User mailbox exceeds allowed size"),
    (Reason.VIRUSDETECTED, r"virus detected"),
    (Reason.EXPIRED, r"^Delivery failed \d+ attempts"),
)


class ImailserverDetector:
    """IMail Server's text bounce."""

    name = "imailserver"

    # The first test of ``detect``, as data: False only when it surely finds nothing.
    gate = Markers(
        Marker("X-Mailer", _MAILER),
    )

    def detect(self, mail: Mail) -> list[BounceFacts] | None:
        if not _MAILER.search(mail.header("X-Mailer")):
            return None
        text = tb.cut_at(mt.body_text(mail), _SEPARATOR)
        matches = list(_LINE.finditer(text))
        records = []
        for index, match in enumerate(matches):
            end = matches[index + 1].start() if index + 1 < len(matches) else len(text)
            sentence = (match.group(1) or "").strip()
            following = text[match.end() : end].replace("Body of message generated response:", "")
            diagnostic = tb.squeeze(f"{sentence} {following}")
            hint = tb.own_reason(sentence, _SENTENCES) if sentence else None
            records.append(tb.make_facts(match.group(2), diagnostic, reason_hint=hint))
        return records or None


DETECTOR = ImailserverDetector()
