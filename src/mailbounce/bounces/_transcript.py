"""Sendmail's "Transcript of session follows" section, read once for V5 and V8 sendmail.

sendmail (deliver.c, usersmtp.c) logs each SMTP exchange of a failed delivery::

    ... while talking to mx.example.org.:          (V5: ``While talking to HOST:``)
    >>> DATA
    <<< 550-5.7.1 first line of a multi-line reply
    <<< 550 5.7.1 last line
    550 5.1.1 <kijitora@example.org>... User unknown
    <<< 503 5.0.0 Need RCPT (recipient)

The remote reply printed before a recipient's error line is that recipient's error; the
command before it is where it failed. The DSN's Diagnostic-Code holds only the reply's first
line, so the full reply (and the command) is what this text knows better.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from mailbounce.lazy_patterns import lazy_compile

_SESSION = lazy_compile(r"^(?:\.\.\.\s*)?while talking to ([^\s:]+?)\.?:?\s*$", re.IGNORECASE)
_SENT = lazy_compile(r"^>>>\s*(\S+)(.*)$")
_RECEIVED = lazy_compile(r"^<<<\s?(.*)$")
_ADDRESS = lazy_compile(r"<?([^\s<>@]+@[^\s<>@]+?)>?$")
# ``550 5.1.1 <addr>... User unknown`` / ``<addr>... Deferred: ...`` / ``user... Deferred``.
_RECIPIENT_LINE = lazy_compile(
    r"^(?:([245]\d\d)\s+)?(?:([245]\.\d{1,3}\.\d{1,3})\s+)?<?([^\s<>]+?)>?\.\.\.\s*(.*)$"
)
# ``550 example.org (smtp)... 550 Host unknown``: an error for a whole domain (V5).
_HOST_LINE = lazy_compile(r"^([245]\d\d)\s+([\w.-]+)\s+\((\w+)\)\.\.\.\s*(.*)$")
_CONTINUED = lazy_compile(r"^[245]\d\d-")
_LOOSE = lazy_compile(r"^[245]\d\d[ -]")
_QUOTED_MARKER = lazy_compile(r"^>\s*-{3,}", re.MULTILINE)
_QUOTE = lazy_compile(r"^> ?", re.MULTILINE)


@dataclass
class Reply:
    """One remote reply (its lines joined) and the command it answered."""

    text: str
    command: str | None
    remote: str | None


@dataclass
class RecipientError:
    """A recipient's error line with the remote reply it came from, when there was one."""

    recipient: str
    line: str
    code: str | None
    reply: Reply | None


@dataclass
class Transcript:
    """Everything read from the transcript section."""

    recipients: list[RecipientError] = field(default_factory=list)
    replies: list[Reply] = field(default_factory=list)
    host_errors: list[str] = field(default_factory=list)
    loose: list[str] = field(default_factory=list)  # coded lines naming no one

    def for_recipient(self, address: str) -> RecipientError | None:
        """The error line of this recipient (case-insensitive), if the transcript has one."""
        wanted = address.lower()
        local = wanted.split("@", 1)[0]
        for error in self.recipients:
            # A local recipient is logged without its domain (``kijitora... Deferred``).
            if error.recipient == wanted or (
                "@" not in error.recipient and error.recipient == local
            ):
                return error
        return None

    def reply_starting(self, first_line: str) -> Reply | None:
        """The full reply whose first line is ``first_line`` (a DSN's truncated diagnostic)."""
        key = " ".join(first_line.split())
        if not key:
            return None
        for reply in self.replies:
            if reply.text.startswith(key):
                return reply
        return None


def unquote(text: str) -> str:
    """A bounce forwarded by a person: drop the ``> `` quoting when the markers are quoted."""
    # Every marker starts a line with ">": a text with no such line is returned at once,
    # without the line-anchored regex tried at each of its characters (issue 3, session 8).
    if not text.startswith(">") and "\n>" not in text:
        return text
    return _QUOTE.sub("", text) if _has_quoted_marker(text) else text


def _has_quoted_marker(text: str) -> bool:
    """``_QUOTED_MARKER.search(text) is not None``: a match starts a line with ">", so only
    those line starts are tried (a Sendmail transcript's lines start with ">>>": the
    multi-line scan tried every character, ~20 us a Sendmail bounce, issue 3 session 9)."""
    if text.startswith(">") and _QUOTED_MARKER.match(text):
        return True
    at = text.find("\n>")
    while at != -1:
        if _QUOTED_MARKER.match(text, at + 1):
            return True
        at = text.find("\n>", at + 1)
    return False


def read_transcript(lines: list[str]) -> Transcript:
    """Parse the lines of a transcript section (see the module docstring)."""
    found = Transcript()
    remote: str | None = None
    command: str | None = None
    pending: list[str] = []
    unclaimed: Reply | None = None
    for raw in lines:
        line = raw.strip()
        if not line:
            continue
        # Each regex is tried only on lines whose first character (or "...") it needs: some
        # 30 regex calls per transcript otherwise (issue 3, round 3).
        first = line[0]
        session = _SESSION.match(line) if first in ".wW" else None
        if session:
            remote, command, pending, unclaimed = session.group(1), None, [], None
            continue
        sent = _SENT.match(line) if first == ">" else None
        if sent:
            command, pending = sent.group(1).upper(), []
            continue
        received = _RECEIVED.match(line) if first == "<" else None
        if received:
            pending.append(received.group(1).strip())
            if not _CONTINUED.match(pending[-1]):
                reply = Reply(" ".join(" ".join(pending).split()), command, remote)
                found.replies.append(reply)
                unclaimed = unclaimed or reply
                pending = []
            continue
        host = _HOST_LINE.match(line) if first in "245" else None
        if host:
            found.host_errors.append(line)
            continue
        recipient = _RECIPIENT_LINE.match(line) if "..." in line else None
        if recipient is None and first in "245" and _LOOSE.match(line):
            found.loose.append(line)
            continue
        if recipient:
            found.recipients.append(
                RecipientError(
                    recipient=recipient.group(3).lower(),
                    line=line,
                    code=recipient.group(1),
                    reply=unclaimed,
                )
            )
            unclaimed = None
    return found
