"""Last-resort text scan for bounces that no detector knows (unseen MTA families).

Only mail that presents itself as a delivery report is scanned (a ``MAILER-DAEMON`` or
``postmaster`` sender, a null Return-Path, a bounce subject that is not a person's "Re:",
``X-Failed-Recipients``, or a ``multipart/report``): a person quoting an error never becomes a
record. The report's own text (its text parts, cut before the returned original) is split
into recipient blocks: a line naming a new address opens one, and it runs to the end of its
paragraph, taking up to three following paragraphs while it has no code or reason words (the
"address:" line, then the server's words). A block with evidence (a reply code, an RFC 3463
status, a failure or taxonomy phrase) gives its address a record, the block as diagnostic.
The blocks are read by ``_recipientblocks`` (``recipient_texts`` also gives words to records
a specific detector found without any, in ``analyse_message``).
"""

from __future__ import annotations

import re
from email.message import Message

from mailbounce.bounces._addressblocks import original_recipients
from mailbounce.bounces._recipientblocks import (
    ADDRESS,
    PARAGRAPH,
    has_evidence,
    is_candidate,
    is_service_address,
    recipient_blocks,
    recipient_texts,
    strong_evidence,
)
from mailbounce.bounces._reportshape import (
    looks_like_report,
    report_and_rest,
    sent_by_mail_system,
)
from mailbounce.bounces._successtext import success_facts
from mailbounce.bounces.base import Mail, part_text
from mailbounce.bounces.rfc3464 import best_status, find_command, find_reply
from mailbounce.classify import command_in
from mailbounce.diagnostic_text import find_enhanced_status
from mailbounce.lazy_patterns import lazy_compile
from mailbounce.models import BounceFacts

__all__ = ["DETECTOR"]

# A warning that delivery is only delayed (the report is not a failure yet).
_DELAY = lazy_compile(
    r"warning message only|has been delayed|will be retried|will keep trying|still trying"
    r"|not yet been delivered|delivery (has been )?delayed|temporarily deferred"
    # French delay notices: "n'a pas encore pu être remis", "remise différée", "le système
    # continuera d'essayer".
    r"|pas encore (pu )?[êe]tre (remis|distribu|d[ée]livr)|remise diff[ée]r[ée]e"
    r"|continuera (d'essayer|[àa] essayer)",
    re.I,
)
_LABEL = lazy_compile(r"^[ \t]*<([^\s<>@]+@[\w-]+(?:\.[\w-]+)+)>:", re.M)


def _own_addresses(mail: Mail) -> set[str]:
    own: set[str] = set()
    for name in ("From", "To", "Return-Path", "Reply-To", "Sender", "Delivered-To"):
        own.update(a.lower() for a in ADDRESS.findall(mail.header(name)))
    return own


_FAILURE_STATUS = lazy_compile(r"[45](?<![\d.][45])\.\d{1,3}\.\d{1,3}(?![\d.]*\d)")  # as _CODES


def _facts(address: str, diagnostic: str, command: str | None, delayed: bool) -> BounceFacts:
    # A session transcript quotes the server's successes before its refusal ("250 2.1.0 Ok"
    # to MAIL FROM, then "552 5.2.2 mailbox full"): the failure's codes are the ones.
    failure = _FAILURE_STATUS.search(diagnostic)
    status = failure.group(0) if failure else best_status(None, diagnostic)
    reply = find_reply(diagnostic, status)
    if status and reply and status[0] != reply[0]:
        status = None  # an enhanced code must agree with the reply's class (RFC 3463 §2)
    code = status or reply or ("4" if delayed else "5")
    return BounceFacts(
        recipient=address,
        action="failed" if code.startswith("5") else "delayed",
        status=status,
        replycode=reply,
        diagnostic=diagnostic,
        smtp_command=command,
    )


_TRANSCRIPT = lazy_compile(
    r"^[ \t]*>>> ?(MAIL FROM|RCPT TO|DATA|HELO|EHLO)\b[^\n]*\n[ \t]*<<< ?[45]\d\d", re.I | re.M
)
_TRANSCRIPT_COMMANDS = {"mail from": "MAIL", "rcpt to": "RCPT", "data": "DATA"}


def _transcript_command(text: str, address: str) -> str | None:
    """The command a Sendmail-style transcript (``>>> RCPT To:<a>`` / ``<<< 550``) failed at."""
    found = None
    for match in _TRANSCRIPT.finditer(text):
        command = _TRANSCRIPT_COMMANDS.get(match.group(1).lower(), match.group(1).upper())
        if address.lower() in match.group(0).lower():
            return command
        found = found or command
    return found


_SENT_COMMAND = lazy_compile(r"(?:>>>|-->) ?(MAIL FROM|RCPT TO|DATA)\b", re.I)


def _block_command(block: str) -> str | None:
    """The last command a block's own transcript lines sent (">>> DATA", "--> RCPT To:")."""
    sent = _SENT_COMMAND.findall(block)
    return _TRANSCRIPT_COMMANDS.get(sent[-1].lower(), sent[-1].upper()) if sent else None


def _status_line(text: str, address: str) -> str:
    """A line elsewhere in the report naming the address with an enhanced status code."""
    key = address.lower()
    for line in text.split("\n"):
        if key in line.lower() and find_enhanced_status(line):
            return line.strip()
    return ""


class FallbackDetector:
    name = "fallback"

    def detect(self, mail: Mail) -> list[BounceFacts] | None:
        if not looks_like_report(mail):
            return None
        failed = {a.lower(): a for a in ADDRESS.findall(mail.header("X-Failed-Recipients"))}
        text, rest = report_and_rest(mail.msg)
        own = _own_addresses(mail)
        # A reason written above an address is read only in a mail system's own report: in a
        # mailing platform's "Delivery report" newsletter it is a summary, not a bounce.
        system = sent_by_mail_system(mail)
        found = recipient_texts(text, own, failed, reasons_above=system)
        delayed = bool(_DELAY.search(text))
        evidence = _evidence_text(text)
        for key, address in failed.items():
            found.setdefault(key, (address, evidence))
        if not found and system:
            # A plain-text success notice (Exchange's "(Relay)"/"(Delivery)" DSNs) names its
            # recipients without failure words: they got the message.
            delivered = success_facts(text, lambda a, line: is_candidate(a, own, line))
            if delivered:
                return delivered
        if not found and evidence and system:
            address = _unnamed_recipient(mail.msg, text, rest, own, strong_evidence(evidence))
            if address is not None:
                found[address.lower()] = (address, f"{evidence} {_labelled(text, address)}".strip())
        facts = []
        for address, block in found.values():
            diagnostic = block
            if not find_enhanced_status(block):
                diagnostic = f"{block} {_status_line(text, address)}".strip()
            # An unknown MTA naming a recipient unknown answers RCPT TO unless it says otherwise.
            command = (
                find_command(diagnostic)
                or command_in(" ".join(diagnostic.lower().split()))
                or _block_command(diagnostic)
                or _transcript_command(text, address)
                or "RCPT"
            )
            facts.append(_facts(address, diagnostic[:1000], command, delayed))
        return facts or None


def _first_evidence(text: str) -> str:
    for line in text.split("\n"):
        if find_reply(line) or find_enhanced_status(line):
            return line.strip()
    return ""


def _evidence_text(text: str) -> str:
    """The report's words for a recipient it does not name beside them: its first line with
    a code, then its paragraphs naming a code or a reason (else those with failure words)."""
    paragraphs = [" ".join(p.split()) for p in PARAGRAPH.split(text) if p.strip()]
    strong = [p for p in paragraphs if strong_evidence(p)]
    words = strong or [p for p in paragraphs if has_evidence(p)]
    first = _first_evidence(text)
    if first and not any(first in p for p in words[:1]):
        words.insert(0, first)
    return " ".join(words)[:1000]


def _unnamed_recipient(
    msg: Message, text: str, rest: str, own: set[str], strong: bool
) -> str | None:
    """The recipient of a report whose reason stands apart from any address.

    The returned original's only recipient, when the report names it or names nobody
    (Verizon's MMS gateway, old Sendmail "Deferred: Connection timed out"); else, with a code
    or a reason in the report, the only address it names (MailMarshal's "Could not be
    delivered because of 550 5.1.1 User unknown", then "The following recipients were
    affected: addr"; an alias the original's address expanded to).
    """
    original = _original_recipient(msg, rest, own)
    if strong:
        named = {a.lower() for a, _ in recipient_blocks(text, own)}
    else:
        # Without a code or a reason, only an address labelling its own line ("<a@x>:", as
        # qmail and Postfix open a recipient's entry) is a recipient, not "write to a@x".
        named = {a.lower() for a in _LABEL.findall(text) if is_candidate(a, own, a)}
    if original is not None and (not named or original.lower() in named):
        return original
    if len(named) == 1:
        return next(iter(named))
    return original if not named else None


def _labelled(text: str, address: str) -> str:
    """The words an address labels ("<a@x>:" then the rest of the line and the next)."""
    pattern = rf"^[ \t]*<{re.escape(address)}>:([^\n]*(?:\n[ \t]*\S[^\n]*)?)"
    match = re.search(pattern, text, re.I | re.M)
    return " ".join(match.group(1).split()) if match else ""


def _original_recipient(msg: Message, rest: str, own: set[str]) -> str | None:
    """The single recipient of the returned original (its To and Cc), else None."""
    headers: list[str] = []
    for part in msg.walk():
        kind = part.get_content_type()
        payload = part.get_payload()
        if kind == "message/rfc822" and isinstance(payload, list) and payload:
            inner = payload[0]
            if isinstance(inner, Message):
                headers += [
                    str(v) for v in (inner.get_all("To") or []) + (inner.get_all("Cc") or [])
                ]
        elif kind == "text/rfc822-headers":
            headers += original_recipients(part_text(part))
    if not headers:
        headers = original_recipients(rest)
    found = {a.lower() for h in headers for a in ADDRESS.findall(h)} - own
    found = {a for a in found if not is_service_address(a)}
    return found.pop() if len(found) == 1 else None


DETECTOR = FallbackDetector()
