"""Google Workspace's "** Message not delivered **" notice without a usable report.

Layout: a text/plain (and HTML) part "** Message not delivered **", Google's explanation, a
"Learn more here:" link and "The response was: <remote or Google words>";
``X-Failed-Recipients`` names the address. When the bounce also carries a
message/delivery-status part, its fields are used and the text only completes them.
"""

from __future__ import annotations

import re

from mailbounce.bounces import _mailtexts as mt
from mailbounce.bounces import _textblocks as tb
from mailbounce.bounces._markers import BODY, Marker, Markers
from mailbounce.bounces.base import Mail
from mailbounce.lazy_patterns import lazy_compile
from mailbounce.models import BounceFacts, Reason

_FROM = lazy_compile(r"mailer-daemon@(google|gmail|googlemail)\.com", re.I)
_MARK = lazy_compile(r"^\*\* (Message not delivered|Message blocked|Address not found) \*\*", re.M)
_TO = lazy_compile(r"problem delivering your message to (\S+@[\w.-]+\w)", re.I)
_RESPONSE = lazy_compile(r"^The response (was|from the remote server was):\s*", re.I | re.M)
_SEND_AS = lazy_compile(r"'Send mail as'|CustomFromDenied", re.I)


class GoogleworkspaceDetector:
    """Google Workspace's text notice (Send-mail-as refusals and the like)."""

    name = "googleworkspace"

    # The first tests of ``detect``, as data: False only when it surely finds nothing.
    gate = Markers(Marker("From", _FROM), also=Markers(Marker(BODY, _MARK)))

    def detect(self, mail: Mail) -> list[BounceFacts] | None:
        if not _FROM.search(mail.sender):
            return None
        text = mt.body_text(mail)
        mark = _MARK.search(text)
        if mark is None:
            return None
        text = text[mark.end() :]
        # "Send mail as" refusals: Google refuses the sender address itself.
        hint = Reason.REJECTED if _SEND_AS.search(text) else None
        if hint is None and mt.has_part(mail, "message/delivery-status"):
            # The generic RFC 3464 reading is complete: nothing to add (asked before the
            # text is read: most of Google's notices carry the report, round 5).
            return None
        recipients = [a.lower() for a in tb.ADDRESS.findall(mail.header("X-Failed-Recipients"))]
        if not recipients and (to := _TO.search(text)):
            recipients = [to.group(1).lower()]
        response = _RESPONSE.search(text)
        diagnostic = text[response.end() :] if response else text
        facts = [
            tb.make_facts(r, tb.squeeze(diagnostic) or tb.squeeze(text), reason_hint=hint)
            for r in recipients
        ]
        return tb.with_dsn(mail, facts) or None


DETECTOR = GoogleworkspaceDetector()
