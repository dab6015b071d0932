"""Sendmail (V8, incl. Sun/Oracle builds and pre-DSN 8.x) "Returned mail" bounces.

Layout (deliver.c / savemail.c)::

    The original message was received at ...
       ----- The following addresses had permanent fatal errors -----
    <kijitora@example.org>
        (reason: 550 5.1.1 <kijitora@example.org>... User unknown)
       ----- Transcript of session follows -----
    ... while talking to mx.example.org.:
    >>> DATA
    <<< 550 5.1.1 <kijitora@example.org>... User unknown
       ----- Original message follows -----   (``Unsent message follows``, old builds)

Modern builds add a message/delivery-status part: its groups are reused (RFC 3464 parser)
and only what the transcript knows better is added (the full multi-line reply, the SMTP
command, the reply code). Old builds and forwarded copies have only the text.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from mailbounce.bounces._mailtexts import body_search, body_text
from mailbounce.bounces._markers import BODY, Marker, Markers
from mailbounce.bounces._textblocks import enhanced_status, make_facts, reply_code
from mailbounce.bounces._transcript import RecipientError, Transcript, read_transcript, unquote
from mailbounce.bounces.base import Mail
from mailbounce.bounces.rfc3464 import parse_delivery_status, parse_inline_delivery_status
from mailbounce.lazy_patterns import lazy_compile
from mailbounce.models import BounceFacts

_SECTION = lazy_compile(r"^\s*-{3,}\s*(.*?)\s*-{3,}\s*$", re.MULTILINE)
_LIST_TITLE = lazy_compile(r"following addresses? (?:had|has) (permanent|transient)", re.I)
_TRANSCRIPT_TITLE = lazy_compile(r"Transcript of session follows", re.I)
_SUBJECT = lazy_compile(
    r"Returned mail|Warning: could not send message|Postmaster notify|Undeliverable mail", re.I
)
# savemail.c (V8): the returned copy's title; V5 wrote "Unsent message follows".
_V8_COPY_TITLE = lazy_compile(r"^(Original message|Message header) follows$", re.I)
_LIST_ADDRESS = lazy_compile(r"^\s*<?([^\s<>()]+)>?\s*$")
_LIST_NOTE = lazy_compile(r"^\s*\((reason|expanded from):\s*(.*?)\)?\s*$", re.I)


def sections(text: str) -> dict[str, list[str]]:
    """The body cut at sendmail's ``----- Title -----`` rules: title -> its lines."""
    return {title: text[start:end].split("\n") for title, (start, end) in spans(text).items()}


def spans(text: str) -> dict[str, tuple[int, int]]:
    """``sections(text)`` as title -> (start, end) in ``text``: a section's lines are split
    only when read (the returned message's section is the longest and is never read)."""
    found: dict[str, tuple[int, int]] = {}
    matches = list(section_rules(text))
    for index, match in enumerate(matches):
        end = matches[index + 1].start() if index + 1 < len(matches) else len(text)
        found.setdefault(match.group(1), (match.end(), end))
    return found


def section_rules(text: str) -> Iterator[re.Match[str]]:
    """``_SECTION.finditer(text)``, the regex tried only where a match can start.

    A match starts at a line start followed by blanks only up to a run of dashes, which
    starts where ``"---"`` is first found from there (an earlier dash would make an earlier
    ``"---"``). So from ``pos``, the one start to try is the first line start of the blanks
    just before that ``"---"``; a later line start among them would match alike (the
    leading ``\\s*`` reaches the dashes from either), so a failure there rules them all
    out, and the search goes on after the run of dashes, where no line starts. The regex
    tried at each position (no literal to skip to) cost ~20 µs per Sendmail bounce.
    """
    pos = 0
    end = len(text)
    while pos < end:
        dashes = text.find("---", pos)
        if dashes == -1:
            return
        start = dashes
        while start > pos and text[start - 1].isspace():
            start -= 1
        if start != 0 and text[start - 1] != "\n":
            newline = text.find("\n", start, dashes)
            start = -1 if newline == -1 else newline + 1
        match = _SECTION.match(text, start) if start != -1 else None
        if match is not None:
            yield match
            pos = match.end()
            continue
        pos = dashes + 3
        while pos < end and text[pos] == "-":
            pos += 1


def _titled(
    parts: dict[str, tuple[int, int]], title: re.Pattern[str]
) -> tuple[str, tuple[int, int]] | None:
    for name, span in parts.items():
        if title.search(name):
            return name, span
    return None


def _lines(text: str, span: tuple[int, int]) -> list[str]:
    """The lines of the section at ``span`` (``sections(text)[title]``)."""
    return text[span[0] : span[1]].split("\n")


def improve(facts: BounceFacts, transcript: Transcript) -> BounceFacts:
    """A DSN group completed by the transcript: full reply, command, reply code."""
    error = transcript.for_recipient(facts.recipient)
    reply = error.reply if error and error.reply else transcript.reply_starting(facts.diagnostic)
    diagnostic = facts.diagnostic
    if reply is not None and (not diagnostic or reply.text.startswith(diagnostic.strip())):
        diagnostic = reply.text
    elif not diagnostic and error is not None:
        diagnostic = error.line
    # The remote's own code beats sendmail's summary (``Status: 4.4.7`` for a queue that
    # expired on ``450 4.7.1``; ``5.1.1`` written for a ``550 5.7.1`` refusal).
    remote_status = enhanced_status(reply.text) if reply else None
    status = facts.status
    if remote_status and (status is None or remote_status[0] == status[0]):
        status = remote_status
    replycode = facts.replycode or reply_code(diagnostic)
    smtp_command = facts.smtp_command or (reply.command if reply else None)
    remote_mta = facts.remote_mta or (reply.remote if reply else None)
    if (
        status == facts.status
        and diagnostic == facts.diagnostic
        and replycode == facts.replycode
        and smtp_command == facts.smtp_command
        and remote_mta == facts.remote_mta
    ):
        return facts  # the transcript adds nothing: the same facts, no copy made
    return facts.amended(
        status=status,
        diagnostic=diagnostic,
        replycode=replycode,
        smtp_command=smtp_command,
        remote_mta=remote_mta,
    )


def _listed(lines: list[str]) -> list[tuple[str, str, str]]:
    """(address, address as listed, reason note) rows of the "following addresses" list."""
    rows: list[tuple[str, str, str]] = []
    for line in lines:
        note = _LIST_NOTE.match(line)
        if note and rows:
            if note.group(1).lower() == "reason" and not rows[-1][2]:
                rows[-1] = (rows[-1][0], rows[-1][1], note.group(2))
            continue
        address = _LIST_ADDRESS.match(line)
        if address:
            rows.append((address.group(1).lower(), address.group(1).lower(), ""))
    return rows


def _text_facts(
    listed: list[tuple[str, str, str]], transcript: Transcript, action: str
) -> list[BounceFacts]:
    """Facts from the text alone (no delivery-status part)."""
    rows = listed or [(e.recipient, e.recipient, "") for e in transcript.recipients]
    found: list[BounceFacts] = []
    for address, listed_as, note in rows:
        error: RecipientError | None = transcript.for_recipient(listed_as)
        reply = error.reply if error else None
        line = error.line if error else ""
        # Without a line of its own, the session's only coded line explains a lone recipient.
        lone = transcript.loose[0] if len(rows) == 1 and transcript.loose else ""
        diagnostic = reply.text if reply else note or line or lone
        found.append(
            make_facts(
                address,
                diagnostic,
                action=action,
                status=enhanced_status(diagnostic) or enhanced_status(line),
                replycode=reply_code(diagnostic) or (error.code if error else None),
                smtp_command=reply.command if reply else None,
                remote_mta=reply.remote if reply else None,
            )
        )
    return found


class SendmailDetector:
    """Sendmail V8 bounces, with or without their delivery-status part."""

    name = "sendmail"

    # The first test of ``detect``, as data: False only when it surely finds nothing.
    gate = Markers(
        Marker("Subject", _SUBJECT),
        Marker(BODY, _TRANSCRIPT_TITLE),
    )

    def detect(self, mail: Mail) -> list[BounceFacts] | None:
        text = body_text(mail)
        if not (_SUBJECT.search(mail.subject) or body_search(mail, _TRANSCRIPT_TITLE)):
            return None
        text = unquote(text)
        parts = spans(text)
        listed = _titled(parts, _LIST_TITLE)
        session = _titled(parts, _TRANSCRIPT_TITLE)
        if listed is None and session is None:
            return None
        reported = parse_delivery_status(mail) or parse_inline_delivery_status(mail)
        transcript = read_transcript(_lines(text, session[1]) if session else [])
        if reported:
            return [improve(facts, transcript) for facts in reported]
        if listed is None and _titled(parts, _V8_COPY_TITLE) is None:
            return None  # transcript and "Unsent message follows": Sendmail V5 (v5sendmail)
        action = "delayed" if listed and "transient" in listed[0].lower() else "failed"
        rows = _listed(_lines(text, listed[1])) if listed else []
        return _text_facts(rows, transcript, action) or None


DETECTOR = SendmailDetector()
