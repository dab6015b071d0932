"""SurfControl (Websense) E-mail Filter non-delivery reports (``X-Mailer: SurfControl``).

``Your message could not be sent. A transcript of the attempts to send the message
follows.``, ``Addressed To: addr``, then ``addr: [192.0.2.5], 550 addr... No such user`` after
``Failed to send to identified host,`` and ``--- Message non-deliverable.``. The report part,
when there is one, is reused and completed by the transcript's remote host.
"""

from __future__ import annotations

import re

from mailbounce.bounces._mailtexts import body_text
from mailbounce.bounces._markers import BODY, Marker, Markers
from mailbounce.bounces._textblocks import make_facts, with_dsn
from mailbounce.bounces.base import Mail
from mailbounce.lazy_patterns import lazy_compile
from mailbounce.models import BounceFacts

_MARK = lazy_compile(r"SurfControl", re.I)
_LEAD = lazy_compile(r"^\s*Your message could not be sent\.", re.I | re.M)
_ATTEMPT = lazy_compile(r"^\s*([^\s<>@:]+@[\w.-]+\w):\s*\[([^\]]*)\],\s*(.+)$", re.M)


class SurfControlDetector:
    """SurfControl reports: one ``addr: [host], reply`` line per failed attempt."""

    name = "surfcontrol"

    # The first test of ``detect``, as data: False only when it surely finds nothing.
    gate = Markers(
        Marker(BODY, _LEAD, 300),
    )

    def detect(self, mail: Mail) -> list[BounceFacts] | None:
        marked = _MARK.search(mail.header("X-Mailer")) or any(
            k.startswith("X-SEF") for k in mail.msg
        )
        text = body_text(mail)
        if not (marked and _LEAD.search(text[:300])):
            return None
        attempts: dict[str, BounceFacts] = {}
        for row in _ATTEMPT.finditer(text):
            # Several attempts may be listed: the last one is why the filter gave up.
            attempts[row.group(1).lower()] = make_facts(
                row.group(1), row.group(3), remote_mta=row.group(2) or None
            )
        return with_dsn(mail, list(attempts.values())) or None


DETECTOR = SurfControlDetector()
