"""DragonFly Mail Agent (dma, DragonFly BSD / Debian ``dma``) bounces (``dma/net.c``, ``mail.c``).

Layout: "This is the DragonFly Mail Agent vX at host.", "There was an error delivering your
mail to <addr>.", the remote reply ("host [ip] did not like our RCPT TO:" then the SMTP lines)
or dma's own words, then "Message headers follow." / "Original message follows.". One bounce
per recipient.
"""

from __future__ import annotations

import re

from mailbounce.bounces import _mailtexts as mt
from mailbounce.bounces import _textblocks as tb
from mailbounce.bounces._markers import BODY, RECEIVED, Marker, Markers
from mailbounce.bounces.base import Mail
from mailbounce.lazy_patterns import lazy_compile
from mailbounce.models import BounceFacts, Reason

_MARK = lazy_compile(r"DragonFly Mail Agent", re.I)
_RECIPIENT = lazy_compile(r"^There was an error delivering your mail to <([^>]*)>", re.I | re.M)
# Each alternative anchored on its own (not ``^(A|B)``): ``_prefilter.search`` reads their leading
# words and tries the regex only where they start, not at every character (issue 3, session 9).
_SEPARATOR = lazy_compile(
    r"^Message headers follow\.?\s*$|^Original message follows\.?\s*$", re.I | re.M
)
_DID_NOT_LIKE = lazy_compile(r"^(\S+) \[([^\]]*)\] did not like our ([A-Z ]+?)(?: TO)?:", re.M)
_EXPIRED = lazy_compile(r"Could not deliver for the last \d+ seconds", re.I)
_COMMANDS = {"RCPT": "RCPT", "MAIL": "MAIL", "DATA": "DATA", "final DATA": "DATA"}


class DragonflyDetector:
    """The DragonFly Mail Agent's bounce text."""

    name = "dragonfly"

    # The first test of ``detect``, as data: False only when it surely finds nothing.
    gate = Markers(
        Marker(BODY, _MARK, 500),
        Marker(RECEIVED, _MARK),
    )

    def detect(self, mail: Mail) -> list[BounceFacts] | None:
        text = mt.body_text(mail)
        if not (mt.body_search(mail, _MARK, 500) or mt.received_mentions(mail, _MARK)):
            return None
        text = tb.cut_at(text, _SEPARATOR)
        found = _RECIPIENT.search(text)
        if found is None:
            return None
        diagnostic = text[found.end() :].lstrip(". \n")
        remote = _DID_NOT_LIKE.search(diagnostic)
        command = None
        if remote:
            command = _COMMANDS.get(remote.group(3).strip(), remote.group(3).split()[-1])
            diagnostic = diagnostic[remote.end() :]
        hint = Reason.EXPIRED if _EXPIRED.search(diagnostic) and not remote else None
        return [
            tb.make_facts(
                found.group(1),
                diagnostic,
                reason_hint=hint,
                remote_mta=remote.group(1) if remote else None,
                smtp_command=command,
            )
        ]


DETECTOR = DragonflyDetector()
