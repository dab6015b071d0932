"""Courier mail server delivery status notifications.

Layout: "This is a delivery status notification from host, running the Courier mail server,
version x.", a rule, "UNDELIVERABLE MAIL" (or "DELAYED MAIL"), "Your message to the following
recipients cannot be delivered:", then per recipient "<addr>:" and the indented transcript
("host [ip]:", ">>> RCPT TO:<addr>", "<<< 550 ..."), closed by a rule. A message/delivery-status
part follows; the text adds the SMTP command and the full remote reply.
"""

from __future__ import annotations

import re

from mailbounce.bounces import _mailtexts as mt
from mailbounce.bounces import _textblocks as tb
from mailbounce.bounces._markers import BODY, Marker, Markers
from mailbounce.bounces.base import Mail
from mailbounce.lazy_patterns import lazy_compile
from mailbounce.models import BounceFacts

_MARK = lazy_compile(r"running the Courier mail server", re.I)
_START = lazy_compile(r"^Your message to the following recipients (cannot|has not)", re.I)
_RULE = lazy_compile(r"^-{20,}\s*$")
_RECIPIENT = lazy_compile(r"^<([^>\s]+@[^>\s]+)>:\s*$")
_HOST = lazy_compile(r"^\s+([\w.-]+) \[[\d.:a-f]+\]:\s*$", re.I)
_COMMAND = lazy_compile(r"^>>> (\w+)")


class CourierDetector:
    """Courier's notification text, completing its delivery-status part."""

    name = "courier"

    # The first test of ``detect``, as data: False only when it surely finds nothing.
    gate = Markers(
        Marker(BODY, _MARK, 1000),
    )

    def detect(self, mail: Mail) -> list[BounceFacts] | None:
        text = mt.body_text(mail)
        if not mt.body_search(mail, _MARK, 1000):
            return None
        delayed = "DELAYED MAIL" in text[:2000]
        rows: list[tuple[str, list[str]]] = []
        for line in tb.lines_between(text, _START, _RULE):
            found = _RECIPIENT.match(line)
            if found:
                rows.append((found.group(1), []))
            elif rows and line.strip():
                rows[-1][1].append(line)
        facts = [_facts(r, lines, delayed) for r, lines in rows]
        return tb.with_dsn(mail, facts, text_required=True) or None


def _facts(recipient: str, lines: list[str], delayed: bool) -> BounceFacts:
    host = next((m.group(1) for m in map(_HOST.match, lines) if m), None)
    command = next((m.group(1).upper() for m in map(_COMMAND.match, lines) if m), None)
    reply = [line.removeprefix("<<<").strip() for line in lines if line.startswith("<<<")]
    diagnostic = " ".join(reply) or " ".join(lines)
    return tb.make_facts(
        recipient,
        diagnostic,
        action="delayed" if delayed else "failed",
        remote_mta=host,
        smtp_command=command,
    )


DETECTOR = CourierDetector()
