"""Digital Arts m-FILTER bounces (``X-Mailer: m-FILTER``, Japanese).

Layout: m-FILTER's Japanese sentences, the failed addresses one per line, then
"-------server message" with the remote reply, "-------SMTP command" with the command, and
"-------original message" / "-------original mail info".
"""

from __future__ import annotations

import re

from mailbounce.bounces import _mailtexts as mt
from mailbounce.bounces import _textblocks as tb
from mailbounce.bounces._markers import RECEIVED, Marker, Markers
from mailbounce.bounces.base import Mail
from mailbounce.lazy_patterns import lazy_compile
from mailbounce.models import BounceFacts

_MAILER = lazy_compile(r"m-FILTER", re.I)
_SERVER = lazy_compile(r"^-{3,}server message\s*$", re.I | re.M)
_COMMAND = lazy_compile(r"^-{3,}SMTP command\s*$\s*(\S+)", re.I | re.M)
_SECTION = lazy_compile(r"^-{3,}\w", re.M)


class MfilterDetector:
    """m-FILTER's text bounce."""

    name = "mfilter"

    # The first test of ``detect``, as data: False only when it surely finds nothing.
    gate = Markers(
        Marker("X-Mailer", _MAILER),
        Marker(RECEIVED, _MAILER),
    )

    def detect(self, mail: Mail) -> list[BounceFacts] | None:
        if not (_MAILER.search(mail.header("X-Mailer")) or mt.received_mentions(mail, _MAILER)):
            return None
        text = mt.body_text(mail)
        server = _SERVER.search(text)
        if server is None:
            return None
        recipients = list(dict.fromkeys(tb.ADDRESS.findall(text[: server.start()])))
        rest = text[server.end() :]
        end = _SECTION.search(rest)
        reply = rest[: end.start()] if end else rest
        command = _COMMAND.search(text)
        return [
            tb.make_facts(r, reply, smtp_command=command.group(1).upper() if command else None)
            for r in recipients
        ] or None


DETECTOR = MfilterDetector()
