"""Yahoo! Mail's own "Failure Notice" (a qmail-derived layout, no delivery-status part).

``Sorry, we were unable to deliver your message to the following address.``, then
``<addr>:`` blocks holding ``Remote host said: 550 5.1.1 ... [RCPT_TO]`` or Yahoo's own
sentence, then ``--- Below this line is a copy of the message.``.
"""

from __future__ import annotations

import re

from mailbounce.bounces._addressblocks import address_blocks, block_facts, sentences
from mailbounce.bounces._mailtexts import body_text
from mailbounce.bounces._markers import BODY, Marker, Markers
from mailbounce.bounces._textblocks import cut_at, with_dsn
from mailbounce.bounces.base import Mail
from mailbounce.lazy_patterns import lazy_compile
from mailbounce.models import BounceFacts, Reason

_LEAD = lazy_compile(r"unable to deliver your message to the following address", re.I)
_SEPARATOR = lazy_compile(r"^--- ?Below this line is a copy of the message", re.I | re.M)
_SENDER = lazy_compile(r"MAILER-DAEMON@", re.I)

# Yahoo's own findings (no remote reply in the block).
_SENTENCES = sentences(
    (r"No mx record found for domain", Reason.NOTACCEPT, True),
    (r"after multiple retries, giving up|message expired", Reason.EXPIRED, True),
    (r"Mailbox (is )?full|over quota", Reason.MAILBOXFULL, False),
)


def _at_rcpt(facts: BounceFacts) -> BounceFacts:
    """Yahoo relays the remote reply to RCPT TO: a reply naming the address answered it."""
    if facts.smtp_command is None and f"<{facts.recipient}>" in facts.diagnostic.lower():
        return facts.amended(smtp_command="RCPT")
    return facts


class YahooDetector:
    """Yahoo! "Failure Notice" bounces."""

    name = "yahoo"

    # The first tests of ``detect``, as data: False only when it surely finds nothing.
    gate = Markers(Marker("From", _SENDER), also=Markers(Marker(BODY, _LEAD, 300)))

    def detect(self, mail: Mail) -> list[BounceFacts] | None:
        if not _SENDER.search(mail.sender):
            return None
        text = body_text(mail)
        if not _LEAD.search(text[:300]):
            return None
        found = block_facts(address_blocks(cut_at(text, _SEPARATOR)), _SENTENCES)
        return with_dsn(mail, [_at_rcpt(facts) for facts in found]) or None


DETECTOR = YahooDetector()
