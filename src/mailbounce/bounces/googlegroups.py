"""Google Groups refusing a post (the group does not exist or the sender may not post).

Layout: from mailer-daemon@googlemail.com with ``X-Failed-Recipients: group@googlegroups.com``
(or the group's address on the organisation's own domain)
and a text in the sender's language ("We're writing to let you know that the group you tried
to contact (name) may not exist, or you may not have permission to post...") that always
links to https://groups.google.com/support/. The group refused the sender: ``rejected``.
"""

from __future__ import annotations

import re

from mailbounce.bounces import _mailtexts as mt
from mailbounce.bounces import _textblocks as tb
from mailbounce.bounces._markers import BODY, PRESENT, Marker, Markers
from mailbounce.bounces._prefilter import search_text
from mailbounce.bounces.base import Mail
from mailbounce.lazy_patterns import lazy_compile
from mailbounce.models import BounceFacts, Reason

_FROM = lazy_compile(r"mailer-daemon@(google|gmail|googlemail)\.com", re.I)
_SUPPORT = lazy_compile(r"groups\.google\.com/support", re.I)
# Written ``---+`` (not ``-{3,}``): ``_prefilter.search`` then tries the regex only where
# ``"---"`` starts; it reads no literal from a counted repeat and scanned the whole text
# (issue 3, session 9).
_SEPARATOR = lazy_compile(r"^---+ ?Original message ?---+", re.I | re.M)


class GooglegroupsDetector:
    """A Google Groups post refusal."""

    name = "googlegroups"

    # The first tests of ``detect``, as data: False only when it surely finds nothing. The
    # Groups help link is looked for in the whole body (the text ``detect`` reads is its
    # head): Google's other notices with a failed recipient ran the detector for nothing.
    gate = Markers(
        Marker("From", _FROM),
        also=Markers(Marker("X-Failed-Recipients", PRESENT), also=Markers(Marker(BODY, _SUPPORT))),
    )

    def detect(self, mail: Mail) -> list[BounceFacts] | None:
        if not _FROM.search(mail.sender):
            return None
        # A group may live on the organisation's own domain: the link to the Groups help
        # centre, not the address, is the mark of this layout.
        failed = mail.header("X-Failed-Recipients")
        if not failed:
            return None
        text = tb.cut_at(mt.body_text(mail), _SEPARATOR)
        if search_text(_SUPPORT, text) is None:  # tried where its words are (round 5)
            return None
        recipients = [a.lower() for a in tb.ADDRESS.findall(failed)]
        diagnostic = tb.squeeze(text)
        return [
            tb.make_facts(r, diagnostic, reason_hint=Reason.REJECTED) for r in recipients
        ] or None


DETECTOR = GooglegroupsDetector()
