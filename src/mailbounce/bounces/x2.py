"""The ``x2`` family (Sisimai's name): a qmail-like layout used by Japanese web-mail ISPs.

``Message from HOST.`` / ``Unable to deliver message to the following address(es).``, then
``<addr>:`` blocks, then ``--- Original message follows.``.
"""

from __future__ import annotations

import re

from mailbounce.bounces._addressblocks import address_blocks, block_facts, sentences
from mailbounce.bounces._mailtexts import body_text
from mailbounce.bounces._markers import BODY, Marker, Markers
from mailbounce.bounces._textblocks import cut_at
from mailbounce.bounces.base import Mail
from mailbounce.lazy_patterns import lazy_compile
from mailbounce.models import BounceFacts, Reason

_LEAD = lazy_compile(
    r"^Message from\s+[\w.-]+\.\s*\n+\s*Unable to deliver message to the following address",
    re.I | re.M,
)
_SEPARATOR = lazy_compile(r"^--- ?Original message follows", re.I | re.M)
_REPORTER = lazy_compile(r"^Message from\s+([\w.-]+?)\.\s*$", re.I | re.M)

_SENTENCES = sentences(
    (r"doesn't have an? \S+ account", Reason.FILTERED, True),
    (r"account is over quota|mailbox is full", Reason.MAILBOXFULL, True),
    (r"in the queue too long", Reason.EXPIRED, True),
    (r"unable to connect to remote server|Operation timed out", Reason.NETWORKERROR, False),
)


class X2Detector:
    """``Unable to deliver message to the following address(es).`` bounces."""

    name = "x2"

    # The first test of ``detect``, as data: False only when it surely finds nothing.
    gate = Markers(
        Marker(BODY, _LEAD, 400),
    )

    def detect(self, mail: Mail) -> list[BounceFacts] | None:
        text = body_text(mail)
        if not _LEAD.search(text[:400]):
            return None
        reporter = _REPORTER.search(text[:200])
        blocks = address_blocks(cut_at(text, _SEPARATOR))
        return (
            block_facts(blocks, _SENTENCES, reporting_mta=reporter.group(1) if reporter else None)
            or None
        )


DETECTOR = X2Detector()
