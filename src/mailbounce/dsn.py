"""Realistic RFC 3464 delivery status notifications, for the demo and for tests.

``make_dsn`` writes what Postfix's bounce daemon sends: a ``multipart/report`` with a
human-readable notice, the ``message/delivery-status`` part and the returned original's
headers (``text/rfc822-headers``), so the original's Message-ID and tracking token travel
back exactly as they do from a real relay. ``write_later_bounces`` turns the sandbox's
"bounce later" recipients into such DSNs in a Maildir, as if a relay had reported them.
"""

from __future__ import annotations

import hashlib
import itertools
import os
import re
import socket
import time
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from mailbounce.sandbox import LaterBounce, SandboxServer

_HEADER_END = re.compile(rb"\r?\n\r?\n")
_RETURN_PATH = re.compile(rb"^Return-Path:[ \t]*<?([^>\s]*)>?", re.I | re.M)
_FROM = re.compile(rb"^From:[ \t]*(?:.*<([^>\s]+)>|([^\s<>]+@[^\s<>]+))", re.I | re.M)
_maildir_counter = itertools.count()

# The "bounce later" reasons the demo cycles through: (status, SMTP reply, diagnostic text).
LATER_REASONS: tuple[tuple[str, str, str], ...] = (
    ("5.1.1", "550", "<{rcpt}>: Recipient address rejected: User unknown in local recipient table"),
    ("5.2.2", "552", "<{rcpt}>: Mailbox full, quota exceeded"),
    ("5.7.1", "554", "Message rejected as spam by content filter"),
)


def _original_headers(original: bytes) -> bytes:
    """The header block of the original, LF line endings, without the blank line."""
    match = _HEADER_END.search(original)
    head = original[: match.start()] if match else original
    return head.replace(b"\r\n", b"\n").replace(b"\r", b"\n").rstrip(b"\n") + b"\n"


def _sender_of(headers: bytes) -> str:
    """Where a relay would send the DSN: the envelope sender, else the From address."""
    match = _RETURN_PATH.search(headers)
    if match and match.group(1):
        return match.group(1).decode("ascii", "replace")
    match = _FROM.search(headers)
    if match:
        return (match.group(1) or match.group(2)).decode("ascii", "replace")
    return "postmaster"


def make_dsn(
    *,
    original: bytes,
    recipient: str,
    status: str,
    diagnostic: str,
    remote_mta: str,
    reporting_mta: str,
    action: str = "failed",
    date: datetime | None = None,
    envelope_from: str | None = None,
) -> bytes:
    """A Postfix-style DSN for ``recipient`` returning ``original``'s headers (LF endings).

    ``diagnostic`` is the remote server's reply as Postfix quotes it (``550 5.1.1 ...``);
    ``action`` is ``failed`` or ``delayed`` (RFC 3464 §2.3.3).
    """
    when = date or datetime.now(UTC)
    headers = _original_headers(original)
    sender = envelope_from or _sender_of(headers)
    identity = "\0".join((recipient, status, diagnostic, action, when.isoformat()))
    digest = hashlib.sha256(original + identity.encode()).hexdigest()
    queue_id = digest[:12].upper()
    boundary = f"{queue_id}.{int(when.timestamp())}/{reporting_mta}"
    delayed = action == "delayed"
    subject = (
        "Delayed Mail (still being retried)" if delayed else "Undelivered Mail Returned to Sender"
    )
    stamp = format_datetime(when)
    notice = _notice(reporting_mta, recipient, remote_mta, diagnostic, delayed)
    status_fields = [
        f"Final-Recipient: rfc822; {recipient}",
        f"Original-Recipient: rfc822;{recipient}",
        f"Action: {action}",
        f"Status: {status}",
        f"Remote-MTA: dns; {remote_mta}",
        f"Diagnostic-Code: smtp; {diagnostic}",
    ]
    if delayed:
        status_fields.append(f"Will-Retry-Until: {format_datetime(when + timedelta(days=5))}")
    text = "\n".join(
        [
            "Return-Path: <>",
            f"Delivered-To: {sender}",
            f"Received: by {reporting_mta} (Postfix) id {queue_id}; {stamp}",
            f"Date: {stamp}",
            f"From: MAILER-DAEMON@{reporting_mta} (Mail Delivery System)",
            f"Subject: {subject}",
            f"To: {sender}",
            "Auto-Submitted: auto-replied",
            "MIME-Version: 1.0",
            "Content-Type: multipart/report; report-type=delivery-status;",
            f'\tboundary="{boundary}"',
            "Content-Transfer-Encoding: 7bit",
            f"Message-Id: <{digest[12:28]}.{queue_id}@{reporting_mta}>",
            "",
            "This is a MIME-encapsulated message.",
            "",
            f"--{boundary}",
            "Content-Description: Notification",
            "Content-Type: text/plain; charset=us-ascii",
            "",
            notice,
            "",
            f"--{boundary}",
            "Content-Description: Delivery report",
            "Content-Type: message/delivery-status",
            "",
            f"Reporting-MTA: dns; {reporting_mta}",
            f"X-Postfix-Queue-ID: {queue_id}",
            f"X-Postfix-Sender: rfc822; {sender}",
            f"Arrival-Date: {stamp}",
            "",
            *status_fields,
            "",
            f"--{boundary}",
            "Content-Description: Undelivered Message Headers",
            "Content-Type: text/rfc822-headers",
            "",
        ]
    )
    return text.encode("utf-8") + b"\n" + headers + f"\n--{boundary}--\n".encode()


def _notice(
    reporting_mta: str, recipient: str, remote_mta: str, diagnostic: str, delayed: bool
) -> str:
    if delayed:
        lead = (
            "####################################################################\n"
            "# THIS IS A WARNING ONLY.  YOU DO NOT NEED TO RESEND YOUR MESSAGE. #\n"
            "####################################################################\n\n"
            "Your message could not be delivered for more than 4 hour(s).\n"
            "It will be retried until it is 5 day(s) old."
        )
    else:
        lead = (
            "I'm sorry to have to inform you that your message could not\n"
            "be delivered to one or more recipients. It's attached below."
        )
    return (
        f"This is the mail system at host {reporting_mta}.\n\n{lead}\n\n"
        "For further assistance, please send mail to postmaster.\n\n"
        "If you do so, please include this problem report. You can\n"
        "delete your own text from the attached returned message.\n\n"
        "                   The mail system\n\n"
        f"<{recipient}>: host {remote_mta}[192.0.2.25] said: {diagnostic} (in reply to\n"
        "    end of DATA command)"
    )


def deliver_to_maildir(maildir: Path, message: bytes) -> Path:
    """Drop ``message`` into ``maildir/new`` the Maildir way (write in tmp/, then rename)."""
    for sub in ("tmp", "new", "cur"):
        (maildir / sub).mkdir(parents=True, exist_ok=True)
    name = f"{time.time_ns()}.P{os.getpid()}Q{next(_maildir_counter)}.{socket.gethostname()}"
    temporary = maildir / "tmp" / name
    temporary.write_bytes(message)
    final = maildir / "new" / name
    temporary.rename(final)
    return final


def later_bounce_dsns(
    entries: Iterable[LaterBounce],
    *,
    reporting_mta: str = "relay.sandbox.example",
    reasons: Sequence[tuple[str, str, str]] = LATER_REASONS,
    delay: timedelta = timedelta(minutes=7),
) -> list[tuple[str, bytes]]:
    """One DSN per "bounce later" recipient, the reasons cycled, dated ``delay`` after
    the sandbox accepted the message (as a relay reports minutes later)."""
    made: list[tuple[str, bytes]] = []
    for index, entry in enumerate(entries):
        status, reply, text = reasons[index % len(reasons)]
        domain = entry.recipient.rpartition("@")[2] or "example.org"
        dsn = make_dsn(
            original=entry.data,
            recipient=entry.recipient,
            status=status,
            diagnostic=f"{reply} {status} {text.format(rcpt=entry.recipient)}",
            remote_mta=f"mx1.{domain}",
            reporting_mta=reporting_mta,
            date=entry.received_at + delay,
            envelope_from=entry.mail_from or None,
        )
        made.append((entry.recipient, dsn))
    return made


def write_later_bounces(server: SandboxServer, maildir: Path) -> list[Path]:
    """Write one DSN per "bounce later" recipient the sandbox accepted into ``maildir``."""
    return [deliver_to_maildir(maildir, dsn) for _, dsn in later_bounce_dsns(server.later_bounces)]
