"""Gmail's own plain-text bounce (mailer-daemon@googlemail.com, before Gmail sent RFC 3464).

Layout: "Delivery to the following recipient failed permanently:" (or "...has been
delayed:") with the addresses indented below, "Technical details of permanent failure:" then
Gmail's sentence and "The error that the other server returned was: 550 ... (state 14).",
then "----- Original message -----". The ``(state N)`` suffix is Gmail's SMTP-session state:
it names the command the remote refused, and for a few states the reason.
"""

from __future__ import annotations

import re

from mailbounce.bounces import _mailtexts as mt
from mailbounce.bounces import _textblocks as tb
from mailbounce.bounces._markers import BODY, Marker, Markers
from mailbounce.bounces._prefilter import search_text
from mailbounce.bounces.base import Mail
from mailbounce.lazy_patterns import lazy_compile
from mailbounce.models import BounceFacts, Reason

_FROM = lazy_compile(r"mailer-daemon@(google|gmail|googlemail)\.com", re.I)
_START = lazy_compile(
    r"^Delivery to the following recipients? (failed permanently|has been delayed|was delayed)",
    re.I,
)
# ``_START`` searched line by line (``lines_between``) is this on the whole text.
_START_LINE = lazy_compile(_START.pattern, re.I | re.M)
_DETAILS = lazy_compile(r"^Technical details of (permanent|temporary) failure:", re.I | re.M)
# Written ``---+`` (not ``-{3,}``): ``_prefilter.search`` then tries the regex only where
# ``"---"`` starts; it reads no literal from a counted repeat and scanned the whole text
# (issue 3, session 9).
_SEPARATOR = lazy_compile(r"^---+ ?(Original message|Message header follows) ?---+", re.I | re.M)
_OTHER_SERVER = lazy_compile(r"The error that the other server returned was:\s*", re.I)
_STATE = lazy_compile(r"\(state (\d+)\)")
# Gmail's SMTP-client states (Sisimai's Gmail table): command refused, and where Gmail's own
# state says more than the reply text, the reason.
_STATES: dict[str, tuple[str, Reason | None]] = {
    "6": ("MAIL", Reason.SYSTEMERROR),  # the remote does not support TLS
    "8": ("AUTH", Reason.SYSTEMERROR),
    "9": ("AUTH", Reason.SYSTEMERROR),
    "14": ("RCPT", None),
    "15": ("DATA", None),
    "16": ("DATA", None),
    "17": ("DATA", Reason.FILTERED),  # refused after the body: a content filter
    "18": ("DATA", Reason.FILTERED),
}
# Gmail's own words (not the remote's), each naming the reason.
_OWN_TEXTS: tuple[tuple[Reason, re.Pattern[str]], ...] = tuple(
    (reason, lazy_compile(pattern, re.I))
    for reason, pattern in (
        (
            Reason.HOSTUNKNOWN,
            r"DNS Error: (Domain name not found|DNS server returned answer with"
            r" no data)|responded with code NXDOMAIN",
        ),
        (Reason.NETWORKERROR, r"DNS Error: Could not contact DNS servers|had no relevant answers"),
        (Reason.USERUNKNOWN, r"email account that you tried to reach does not exist"),
        (Reason.EXPIRED, r"did not accept our requests to connect|Message will be retried for"),
    )
)


class GmailDetector:
    """Gmail's legacy text bounce and delay notice."""

    name = "gmail"

    # The first tests of ``detect``, as data: False only when it surely finds nothing (no
    # "Delivery to the following recipient" line: no recipient).
    gate = Markers(
        Marker("From", _FROM),
        also=Markers(Marker(BODY, _START_LINE)),
    )

    def detect(self, mail: Mail) -> list[BounceFacts] | None:
        if not _FROM.search(mail.sender):
            return None
        text = tb.cut_at(mt.body_text(mail), _SEPARATOR)
        lines = tb.lines_between(text, _START, _DETAILS)
        recipients = [a.lower() for line in lines for a in tb.ADDRESS.findall(line)]
        if not recipients:
            return None
        details = search_text(_DETAILS, text)  # tried where its words are (round 5)
        diagnostic = text[details.end() :] if details else ""
        delayed = "delayed" in text[:2000].lower() and "failed permanently" not in text.lower()
        return [_facts(r, diagnostic, delayed) for r in dict.fromkeys(recipients)]


def _facts(recipient: str, details: str, delayed: bool) -> BounceFacts:
    other = _OTHER_SERVER.search(details)
    remote_words = details[other.end() :] if other else ""
    state = _STATE.search(details)
    command, hint = _STATES.get(state.group(1), (None, None)) if state else (None, None)
    if hint is None and not remote_words:
        hint = next((r for r, p in _OWN_TEXTS if p.search(details)), None)
    diagnostic = remote_words or details
    # Gmail repeats the reply code ("550 550 5.1.1 ..."): the status is read after it.
    return tb.make_facts(
        recipient,
        diagnostic,
        action="delayed" if delayed else "failed",
        reason_hint=hint,
        smtp_command=command,
    )


DETECTOR = GmailDetector()
