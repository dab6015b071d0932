"""SmarterMail (SmarterTools) "Undeliverable Mail" notices (no delivery-status part).

``Delivery to the following recipients failed.`` (newer builds: ``The following recipients
were unable to be delivered to:``), the addresses one per line, a ``Reason:`` (``Failed:``)
line giving the remote reply (``Remote host said: 550 5.1.1 ... [RCPT_TO]``), then
``Original message follows.``. Several recipients may
share one reason; a ``Reason:`` right under an address is that address's own.
"""

from __future__ import annotations

import re

from mailbounce.bounces._addressblocks import smtp_command
from mailbounce.bounces._mailtexts import body_text
from mailbounce.bounces._markers import BODY, Marker, Markers
from mailbounce.bounces._textblocks import cut_at, make_facts
from mailbounce.bounces.base import Mail
from mailbounce.lazy_patterns import lazy_compile
from mailbounce.models import BounceFacts

_MARK = lazy_compile(r"SmarterMail|SmarterTools", re.I)
_LEAD = lazy_compile(
    r"^\s*(?:Delivery to the following recipients? failed"
    r"|The following recipients? (?:was|were) unable to be delivered"
    r"|The message could not be delivered to the following recipients?)",
    re.I | re.M,
)
_SEPARATOR = lazy_compile(r"^\s*(?:-+\s*)?Original message follows", re.I | re.M)
_ADDRESS_LINE = lazy_compile(r"^\s*<?([^\s<>@]+@[\w.-]+\w)>?\s*$")
# Newer builds write ``Failed: <reply>`` under each address instead of ``Reason:``.
_REASON = lazy_compile(r"^\s*(?:Reason|Failed|Error):\s*(.*)$", re.I)
_REASON_ANYWHERE = lazy_compile(r"^\s*(?:Reason|Failed|Error):\s*\S", re.I | re.M)


class SmarterMailDetector:
    """SmarterMail notices: address lines and their ``Reason:``."""

    name = "smartermail"

    # The first test of ``detect``, as data: False only when it surely finds nothing.
    gate = Markers(
        Marker(BODY, _LEAD),
    )

    def detect(self, mail: Mail) -> list[BounceFacts] | None:
        text = body_text(mail)
        lead = _LEAD.search(text)
        if lead is None:
            return None
        marked = _MARK.search(text) or any(_MARK.search(str(v)) for v in mail.msg.values())
        if not (marked or _REASON_ANYWHERE.search(text)):
            return None
        rows: list[tuple[str, list[str]]] = []
        current: list[str] | None = None
        for line in cut_at(text[lead.end() :], _SEPARATOR).split("\n"):
            address = _ADDRESS_LINE.match(line)
            reason = _REASON.match(line)
            if address:
                current = []
                rows.append((address.group(1), current))
            elif reason and current is not None:
                current.append(reason.group(1))
            elif line.strip() and current:
                current.append(line.strip())
        # Addresses listed together without their own reason share the next one given.
        shared = next((" ".join(r) for _, r in rows if r), "")
        found = []
        for recipient, reason_lines in rows:
            diagnostic = " ".join(reason_lines) or shared
            found.append(make_facts(recipient, diagnostic, smtp_command=smtp_command(diagnostic)))
        return found or None


DETECTOR = SmarterMailDetector()
