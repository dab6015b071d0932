"""Microsoft Exchange Server 2007-2019 (on-premises) non-delivery reports.

Layout (localised: English, Italian, French, ...): "Delivery has failed to these recipients or
groups:" with "Name<mailto:addr>" lines and Exchange's explanation, then "Diagnostic
information for administrators:" / "Generating server: host" and per recipient the address
alone on a line followed by the remote reply, either "#550 5.1.1 RESOLVER.ADR.RecipNotFound;
not found ##" or "Remote Server returned '550 5.1.1 ...'", then "Original message headers:".
Only the diagnostic section is read: its layout does not depend on the language. Most
versions also carry a message/delivery-status part.
"""

from __future__ import annotations

import re

from mailbounce.bounces import _mailtexts as mt
from mailbounce.bounces import _textblocks as tb
from mailbounce.bounces._markers import PRESENT, Marker, Markers
from mailbounce.bounces._prefilter import search_text
from mailbounce.bounces.base import Mail
from mailbounce.lazy_patterns import lazy_compile
from mailbounce.models import BounceFacts

_MARK = lazy_compile(r"Microsoft Exchange|Microsoft SMTP Server", re.I)
_CLOUD = lazy_compile(r"outlook\.com|office365|exchangelabs", re.I)  # Office 365 has its own
# "Generating server: x" in any language: the label ends with a colon and names a host.
_GENERATING = lazy_compile(r"^[^:\n]{5,60}:\s*([\w.-]+\.[\w-]+)\s*$", re.M)
_ADDRESS_LINE = lazy_compile(r"^\s*(\S+@[\w.-]+\w)\s*$", re.M)
# "#550 5.1.1 ... ##" (the closing "##" may be missing on a long reply) or the quoted form.
_REPLY = lazy_compile(r"^\s*(?:#([245]\d\d[^\n]*?)#*\s*$|Remote Server returned '(.+)')", re.M)
_ORIGINAL = lazy_compile(r"^\S[^\n]{0,60}:\s*$\n(Received|Return-Path|From|Date):", re.M)


def _before_original(text: str) -> str:
    """``tb.cut_at(text, _ORIGINAL)``, the regex tried only where a match can start.

    A match ends its label line with blanks up to a line starting with one of the four
    field names: its start is the line start of the last non-blank character before each
    such line (the first that matches is the leftmost), not every character of the text.
    """
    at = _next_field_line(text, 0)
    while at != -1:
        last = at  # back over the blanks ``:\s*$`` skips, to the label's colon
        while last > 0 and text[last - 1].isspace():
            last -= 1
        start = text.rfind("\n", 0, last) + 1
        if _ORIGINAL.match(text, start):
            return text[:start]
        at = _next_field_line(text, at + 1)
    return text


def _next_field_line(text: str, start: int) -> int:
    """The first "\nReceived:", "\nReturn-Path:", "\nFrom:" or "\nDate:" from ``start``."""
    found = [at for at in (text.find(f, start) for f in _FIELD_LINES) if at != -1]
    return min(found, default=-1)


_FIELD_LINES = ("\nReceived:", "\nReturn-Path:", "\nFrom:", "\nDate:")


def _generating(text: str) -> re.Match[str] | None:
    """``_GENERATING.search(text)``, tried only at the start of each line whose first colon
    is 5 to 60 characters in (the label), not at every character."""
    pos = 0
    while True:
        colon = text.find(":", pos)  # the first colon of the line starting at ``pos`` or after
        if colon == -1:
            return None
        start = text.rfind("\n", 0, colon) + 1
        if 5 <= colon - start <= 60:
            match = _GENERATING.match(text, start)
            if match:
                return match
        pos = text.find("\n", colon) + 1
        if pos == 0:
            return None


class Exchange2007Detector:
    """Exchange 2007+ NDR: the language-independent diagnostic section."""

    name = "exchange2007"

    # ``detect`` needs the NDR header or a Content-Language, as data (base.GatedDetector).
    gate = Markers(
        Marker("X-MS-Exchange-Message-Is-Ndr", PRESENT),
        Marker("Content-Language", PRESENT),
    )

    def detect(self, mail: Mail) -> list[BounceFacts] | None:
        if _CLOUD.search(mail.sender) or mt.received_mentions(mail, _CLOUD):
            return None
        is_ndr = "X-MS-Exchange-Message-Is-Ndr" in mail.msg
        if not (is_ndr or mail.header("Content-Language")):
            return None  # before cutting the text: most mail stops here (h12)
        text = _before_original(mt.body_text(mail))
        if not (is_ndr or search_text(_MARK, text)):  # tried where its words are (round 5)
            return None
        generating = _generating(text)
        section = text[generating.end() :] if generating else text
        facts = []
        for address in _ADDRESS_LINE.finditer(section):
            reply = _REPLY.match(section, address.end() + 1)
            if reply:
                facts.append(
                    tb.make_facts(
                        address.group(1),
                        reply.group(1) or reply.group(2),
                        reporting_mta=generating.group(1) if generating else None,
                    )
                )
        return tb.with_dsn(mail, facts, text_required=True) or None


DETECTOR = Exchange2007Detector()
