"""Sendmail V5 (5.x, e.g. SunOS 4 and old BSD) "Returned mail" bounces.

No recipient list and no delivery-status part: ``----- Transcript of session follows -----``
holds ``550 <addr>... User unknown`` lines (and ``421 host (smtp)... Deferred`` lines for a
whole domain), then ``----- Unsent message follows -----`` returns the message. When no line
names a recipient, the returned message's ``To:`` is the recipient (what was not delivered).
"""

from __future__ import annotations

import re

from mailbounce.bounces._addressblocks import original_recipients
from mailbounce.bounces._mailtexts import body_text
from mailbounce.bounces._markers import Marker, Markers
from mailbounce.bounces._textblocks import make_facts, reply_code
from mailbounce.bounces._transcript import read_transcript
from mailbounce.bounces.base import Mail
from mailbounce.bounces.sendmail import sections
from mailbounce.lazy_patterns import lazy_compile
from mailbounce.models import BounceFacts, Reason

_SUBJECT = lazy_compile(r"Returned mail", re.I)
_TRANSCRIPT_TITLE = lazy_compile(r"^Transcript of session follows$", re.I)
_COPY_TITLE = lazy_compile(r"^Unsent message follows$", re.I)
_LIST_TITLE = lazy_compile(r"following addresses", re.I)
_AFTER_DOTS = lazy_compile(r"\.\.\.\s*(.*)$")
# savemail.c: the queue gave up on the message ("Cannot send message for 5 days").
_EXPIRED_SUBJECT = lazy_compile(r"Cannot send message for|could not be delivered for", re.I)


class V5SendmailDetector:
    """Transcript-only Sendmail 5.x bounces."""

    name = "v5sendmail"

    # The first test of ``detect``, as data: False only when it surely finds nothing.
    gate = Markers(
        Marker("Subject", _SUBJECT),
    )

    def detect(self, mail: Mail) -> list[BounceFacts] | None:
        if not _SUBJECT.search(mail.subject):
            return None
        parts = sections(body_text(mail))
        transcript_lines = next((v for k, v in parts.items() if _TRANSCRIPT_TITLE.match(k)), None)
        copy = next((v for k, v in parts.items() if _COPY_TITLE.match(k)), None)
        if transcript_lines is None or copy is None:
            return None
        if any(_LIST_TITLE.search(k) for k in parts):
            return None  # a V8 layout: the sendmail detector reads it
        transcript = read_transcript(transcript_lines)
        found: list[BounceFacts] = []
        for error in transcript.recipients:
            after = _AFTER_DOTS.search(error.line)
            text = error.reply.text if error.reply else (after.group(1) if after else error.line)
            found.append(
                make_facts(
                    error.recipient,
                    text,
                    replycode=reply_code(text) or error.code,
                    smtp_command=error.reply.command if error.reply else None,
                    remote_mta=error.reply.remote if error.reply else None,
                )
            )
        if not found and transcript.host_errors:
            # No line names a recipient: the domain's error applies to the returned To:.
            line = transcript.host_errors[0]
            expired = Reason.EXPIRED if _EXPIRED_SUBJECT.search(mail.subject) else None
            found = [
                make_facts(address, line, replycode=reply_code(line), reason_hint=expired)
                for address in original_recipients("\n".join(copy))
            ]
        return found or None


DETECTOR = V5SendmailDetector()
