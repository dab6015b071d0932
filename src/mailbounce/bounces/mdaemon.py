"""MDaemon (Alt-N / MDaemon Technologies) delivery failure notices.

Layout: From "MDaemon@host", "The attached message had PERMANENT fatal delivery errors!" (or
"...has had delivery problems" for warnings), "YOUR MESSAGE WAS NOT DELIVERED TO ONE OR MORE
RECIPIENTS!", then "--- Session Transcript ---" with time-stamped lines, "--> RCPT
To:<addr>" for the commands MDaemon sent and "<-- 550 ..." for the replies, until "--- End
Transcript ---". The recipient is the address of the RCPT command the reply answers.
"""

from __future__ import annotations

import re

from mailbounce.bounces import _mailtexts as mt
from mailbounce.bounces import _textblocks as tb
from mailbounce.bounces._markers import BODY, Marker, Markers
from mailbounce.bounces.base import Mail
from mailbounce.lazy_patterns import lazy_compile
from mailbounce.models import BounceFacts

_MARK = lazy_compile(r"MDaemon", re.I)
_LEAD = lazy_compile(r"had (PERMANENT fatal delivery errors|delivery problems)", re.I)
_TRANSCRIPT = lazy_compile(r"-{3} Session Transcript -{3}(.*?)(?:-{3} End Transcript -{3}|$)", re.S)
_SENT = lazy_compile(r"-->\s*(\w+)(?: TO| FROM)?:?\s*<?([^<>\s]*@[^<>\s]*)?>?", re.I)
_REPLY = lazy_compile(r"<--\s*([245]\d\d[ -].*)")
_CONNECTED = lazy_compile(r"Attempting SMTP connection to \[?([^\]\s:]+)", re.I)


class MdaemonDetector:
    """MDaemon's session-transcript notice."""

    name = "mdaemon"

    # The first test of ``detect``, as data: False only when it surely finds nothing.
    gate = Markers(
        Marker("From", _MARK),
        Marker(BODY, _LEAD, 1500),
    )

    def detect(self, mail: Mail) -> list[BounceFacts] | None:
        text = mt.body_text(mail)
        if not (_MARK.search(mail.sender) or mt.body_search(mail, _LEAD, 1500)):
            return None
        transcript = _TRANSCRIPT.search(text)
        if transcript is None:
            return None
        delayed = "PERMANENT" not in text[:1500].upper()
        facts: list[BounceFacts] = []
        recipient = command = host = None
        for line in transcript.group(1).split("\n"):
            if connected := _CONNECTED.search(line):
                host = connected.group(1)
            if sent := _SENT.search(line):
                command = sent.group(1).upper()
                if command == "RCPT" and sent.group(2):
                    recipient = sent.group(2)
            elif (
                (reply := _REPLY.search(line))
                and reply.group(1)[0] in "45"
                and recipient
                and all(f.recipient != recipient.lower() for f in facts)
            ):
                facts.append(
                    tb.make_facts(
                        recipient,
                        reply.group(1),
                        action="delayed" if delayed else "failed",
                        remote_mta=host,
                        smtp_command=command,
                    )
                )
        return facts or None


DETECTOR = MdaemonDetector()
