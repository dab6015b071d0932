"""Last-resort text scan for bounces that no detector knows (unseen MTA families).

Only mail that looks like a delivery report is scanned (a ``MAILER-DAEMON``/``postmaster``
sender, a null Return-Path, a bounce subject, ``X-Failed-Recipients``, or a
``multipart/report``): a normal mail quoting an error never becomes a record. In the report's
own text (cut before the returned original), each paragraph that names an address next to
evidence (an SMTP reply code, an RFC 3463 status, or a well-known failure phrase) gives that
address a record, with the paragraph as the diagnostic.
"""

from __future__ import annotations

import re
from email.message import Message

from mailbounce.bounces.base import Mail, part_text
from mailbounce.bounces.rfc3464 import best_status, find_command, find_reply
from mailbounce.classify import find_enhanced_status
from mailbounce.models import BounceFacts

_ADDRESS = re.compile(r"[\w.!#$%&'*+/=?^`{|}~-]+@[\w-]+(?:\.[\w-]+)+", re.ASCII)
_BOUNCE_SENDER = re.compile(r"mailer-daemon|postmaster|mail delivery|mail administrator", re.I)
_BOUNCE_SUBJECT = re.compile(
    r"undeliver|not (be )?delivered|delivery (status|failure|failed|has failed|notification|"
    r"problem|report)|returned mail|failure notice|mail delivery|non[- ]?remis|non[- ]?distribu"
    r"|nondeliverable|unzustellbar|rejected|could not be delivered|delivery error|bounce",
    re.I,
)
# Where the returned original starts in a text report (Sendmail, Exim, qmail, Exchange...).
_ORIGINAL_MARKER = re.compile(
    r"^.*(original message|returned message|message headers follow|copy of the message"
    r"|below this line|undelivered message|message d'origine|message original"
    r"|headers of your message|first \d+ lines|rfc822|^received: ).*$",
    re.I | re.M,
)
_HEADER_LINE = re.compile(
    r"^(from|to|cc|subject|date|reply-to|return-path|message-id|received|sender|"
    r"content-[\w-]+|mime-version|x-[\w-]+|reporting-mta|arrival-date):",
    re.I,
)
_EVIDENCE = re.compile(
    r"(?<![\d.])[245]\.\d{1,3}\.\d{1,3}(?![\d.])|(?<![\w.-])[45][0-5]\d(?=[ -]|$)"
    r"|user unknown|unknown user|no such|does not exist|doesn't exist|not found|invalid"
    r"|mailbox (is )?(full|unavailable)|quota|rejected|refused|denied|unrouteable|unreachable"
    r"|timed? out|host unknown|blocked|not delivered|could not be delivered|failed|inconnu"
    r"|n'existe pas|pleine|introuvable|refus[ée]",
    re.I,
)
_PARAGRAPH = re.compile(r"\n[ \t]*\n")
_MAX_SCAN = 20_000


def looks_like_report(mail: Mail) -> bool:
    """Whether the mail presents itself as a delivery report (cheap: headers only)."""
    msg = mail.msg
    if msg.get_content_type() == "multipart/report" or msg.get("X-Failed-Recipients"):
        return True
    if msg.get("Return-Path") is not None and str(msg.get("Return-Path")).strip() == "<>":
        return True  # the null reverse-path of RFC 5321 §4.5.5: a report or an auto-reply
    return bool(_BOUNCE_SENDER.search(mail.sender) or _BOUNCE_SUBJECT.search(mail.subject))


def report_text(msg: Message) -> str:
    """The report's own text: text parts outside the returned original, cut at its marker."""
    texts: list[str] = []
    stack = [msg]
    while stack and sum(len(t) for t in texts) < _MAX_SCAN:
        part = stack.pop(0)
        kind = part.get_content_type()
        if part is not msg and (kind.startswith("message/") or kind == "text/rfc822-headers"):
            continue
        payload = part.get_payload()
        if isinstance(payload, list):
            stack[0:0] = [p for p in payload if isinstance(p, Message)]
        elif part.get_content_maintype() == "text" and kind != "text/html":
            texts.append(part_text(part))
    text = "\n\n".join(texts)[:_MAX_SCAN]
    marker = _ORIGINAL_MARKER.search(text, 40)
    return text[: marker.start()] if marker else text


def _own_addresses(mail: Mail) -> set[str]:
    own: set[str] = set()
    for name in ("From", "To", "Return-Path", "Reply-To", "Sender", "Delivered-To"):
        own.update(a.lower() for a in _ADDRESS.findall(mail.header(name)))
    return own


def _is_service_address(address: str) -> bool:
    local = address.split("@", 1)[0].lower()
    return local in ("mailer-daemon", "postmaster", "root", "noreply", "no-reply")


def _facts(address: str, diagnostic: str) -> BounceFacts:
    status = best_status(None, diagnostic)
    reply = find_reply(diagnostic)
    if status and reply and status[0] != reply[0]:
        status = None  # an enhanced code must agree with the reply's class (RFC 3463 §2)
    return BounceFacts(
        recipient=address,
        action="failed" if (status or reply or "5").startswith("5") else "delayed",
        status=status,
        replycode=reply,
        diagnostic=diagnostic,
        smtp_command=find_command(diagnostic),
    )


class FallbackDetector:
    name = "fallback"

    def detect(self, mail: Mail) -> list[BounceFacts] | None:
        if not looks_like_report(mail):
            return None
        failed = [a for a in _ADDRESS.findall(mail.header("X-Failed-Recipients")) if "@" in a]
        text = report_text(mail.msg)
        own = _own_addresses(mail)
        failed_keys = {f.lower() for f in failed}
        found: dict[str, str] = {}
        for paragraph in _PARAGRAPH.split(text):
            lines = [ln.strip() for ln in paragraph.split("\n") if not _HEADER_LINE.match(ln)]
            body = " ".join(ln for ln in lines if ln)
            if not body:
                continue
            addresses = [
                a
                for a in _ADDRESS.findall(body)
                if a.lower() not in own and not _is_service_address(a)
            ]
            if not addresses:
                continue
            evidence = _EVIDENCE.search(body)
            for address in addresses:
                key = address.lower()
                if failed_keys and key not in failed_keys:
                    continue
                better = key not in found or (evidence and not _EVIDENCE.search(found[key]))
                if (evidence or key in failed_keys) and better:
                    found[key] = body
        for address in failed:
            found.setdefault(address.lower(), _first_evidence(text))
        originals = {a.lower(): a for a in failed}
        return [
            _facts(originals.get(key, _case_of(key, text)), diagnostic[:1000])
            for key, diagnostic in found.items()
        ] or None


def _first_evidence(text: str) -> str:
    for line in text.split("\n"):
        if find_reply(line) or find_enhanced_status(line):
            return line.strip()
    return ""


def _case_of(key: str, text: str) -> str:
    index = text.lower().find(key)
    return text[index : index + len(key)] if index >= 0 else key


DETECTOR = FallbackDetector()
