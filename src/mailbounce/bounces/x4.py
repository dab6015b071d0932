"""The ``x4`` family (Sisimai's name): qmail-based ISP relays with a rewritten lead text.

``Your mail message to the following address(es) could not be delivered. This is a permanent
error.``, then qmail's ``<addr>:`` blocks (often ``child status 100...`` from a delivery
program) and ``--- Below this line is a copy of the message.``.
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
    r"Your mail message to the following address\(?es\)? could not be\s+delivered", re.I
)
_SEPARATOR = lazy_compile(r"^--- ?(Below this line is a copy|Enclosed is a copy)", re.I | re.M)

# Texts of the delivery programs behind ``child status 100`` (a permanent local failure).
_SENTENCES = sentences(
    (r"mail ?folder is full|mailbox is full|over (the allowed )?quota", Reason.MAILBOXFULL, True),
    (r"(user|mailbox) (does not exist|unknown)|no such (user|mailbox)", Reason.USERUNKNOWN, True),
    (r"couldn't find any host", Reason.HOSTUNKNOWN, True),
    (r"in the queue too long", Reason.EXPIRED, False),
)


class X4Detector:
    """qmail-based relays whose lead says "Your mail message ... could not be delivered"."""

    name = "x4"

    # The first test of ``detect``, as data: False only when it surely finds nothing.
    gate = Markers(
        Marker(BODY, _LEAD, 300),
    )

    def detect(self, mail: Mail) -> list[BounceFacts] | None:
        text = body_text(mail)
        if not _LEAD.search(text[:300]):
            return None
        return block_facts(address_blocks(cut_at(text, _SEPARATOR)), _SENTENCES) or None


DETECTOR = X4Detector()
