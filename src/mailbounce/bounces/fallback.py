"""Last-resort text scan for bounces that no detector knows (unseen MTA families).

Only mail that presents itself as a delivery report is scanned (a ``MAILER-DAEMON`` or
``postmaster`` sender, a null Return-Path, a bounce subject that is not a person's "Re:",
``X-Failed-Recipients``, or a ``multipart/report``): a person quoting an error never becomes a
record. The report's own text (its text parts, cut before the returned original) is split
into recipient blocks: a line naming a new address opens one, and it runs to the end of its
paragraph, taking up to three following paragraphs while it has no code or reason words (the
"address:" line, then the server's words). A block with evidence (a reply code, an RFC 3463
status, a failure or taxonomy phrase) gives its address a record, the block as diagnostic.
``recipient_texts`` is also used by ``analyse_message`` to give words to records a specific
detector found without any.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from email.message import Message

from mailbounce.bounces._addressblocks import original_recipients
from mailbounce.bounces._reportshape import (
    looks_like_report,
    report_and_rest,
    report_text,
    sent_by_mail_system,
)
from mailbounce.bounces._successtext import success_facts
from mailbounce.bounces.base import Mail, part_text
from mailbounce.bounces.rfc3464 import best_status, find_command, find_reply
from mailbounce.classify import command_in, find_enhanced_status
from mailbounce.models import BounceFacts
from mailbounce.reason_rules import PHRASES
from mailbounce.regex_literals import found

__all__ = ["DETECTOR", "looks_like_report", "recipient_texts", "report_text"]

# The look-behind starts a match only where a local part starts: linear on long runs of
# local-part characters (a hostile line cannot make the scan quadratic).
_ADDRESS = re.compile(
    r"(?<![\w.!#$%&'*+/=?^`{|}~-])[\w.!#$%&'*+/=?^`{|}~-]+@[\w-]+(?:\.[\w-]+)+", re.ASCII
)
_HEADER_LINE = re.compile(
    r"^(from|to|cc|subject|date|reply-to|return-path|message-id|received|sender|"
    r"content-[\w-]+|mime-version|x-[\w-]+|reporting-mta|arrival-date):",
    re.I,
)
# The look-behind after the first character (the same test: the character before it) lets
# the regex engine skip to the digits a code starts with (a leading look-behind tries every
# position: 3x slower on a diagnostic, issue 3 round 3).
_CODES = re.compile(
    r"[245](?<![\d.][245])\.\d{1,3}\.\d{1,3}(?![\d.])|[45](?<![\w.-][45])[0-5]\d(?=[ -]|$)"
)
_EVIDENCE = re.compile(
    r"user unknown|unknown user|no such|does not exist|doesn't exist|not found|invalid"
    r"|mailbox (is )?(full|unavailable)|quota|rejected|refused|denied|unrouteable|unreachable"
    r"|timed? out|host unknown|blocked|not delivered|could not be delivered|failed|inconnu"
    r"|n'existe pas|pleine|introuvable|refus[ée]|did not reach|unable to deliver|giving up"
    r"|not recogni[sz]ed|error|failure|undeliverable|bounced|(was|wasn't|were) not delivered"
    r"|wasn't delivered|(couldn't|could not|cannot|can't) be (found|delivered)|exceed"
    r"|delayed|will be retried|deferred"
    # French, then Spanish, Italian and German words of failure.
    r"|invalide|impossible|[ée]chec|erreur|rejet[ée]|bloqu[ée]|d[ée]pass[ée]|d[ée]sactiv[ée]"
    r"|pas (encore )?pu [êe]tre (remis|distribu|d[ée]livr)|ne r[ée]pond pas|diff[ée]r[ée]"
    r"|desconocid|no existe|rechazad|sconosciut|inesistente|unbekannt|existiert nicht",
    re.I,
)
# A warning that delivery is only delayed (the report is not a failure yet).
_DELAY = re.compile(
    r"warning message only|has been delayed|will be retried|will keep trying|still trying"
    r"|not yet been delivered|delivery (has been )?delayed|temporarily deferred"
    # French delay notices: "n'a pas encore pu être remis", "remise différée", "le système
    # continuera d'essayer".
    r"|pas encore (pu )?[êe]tre (remis|distribu|d[ée]livr)|remise diff[ée]r[ée]e"
    r"|continuera (d'essayer|[àa] essayer)",
    re.I,
)
# The envelope sender named in a summary ("MAIL FROM: x", "Original Sender: x") or sent in
# a session transcript (">>> MAIL From:<x>", Postfix's " In:  MAIL FROM:<x>") is not a
# recipient.
_SENDER_LINE = re.compile(
    r"^[\s>]*(?:in:\s*)?(mail from|envelope[- ]from|original sender|sender|from)\s*:", re.I
)
_PARAGRAPH = re.compile(r"\n[ \t]*\n")
_LABEL = re.compile(r"^[ \t]*<([^\s<>@]+@[\w-]+(?:\.[\w-]+)+)>:", re.M)


def _own_addresses(mail: Mail) -> set[str]:
    own: set[str] = set()
    for name in ("From", "To", "Return-Path", "Reply-To", "Sender", "Delivered-To"):
        own.update(a.lower() for a in _ADDRESS.findall(mail.header(name)))
    return own


def _is_service_address(address: str) -> bool:
    local = address.split("@", 1)[0].lower()
    return local in ("mailer-daemon", "postmaster", "root", "noreply", "no-reply")


_FAILURE_STATUS = re.compile(r"[45](?<![\d.][45])\.\d{1,3}\.\d{1,3}(?![\d.]*\d)")  # as _CODES


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


_TRANSCRIPT = re.compile(
    r"^[ \t]*>>> ?(MAIL FROM|RCPT TO|DATA|HELO|EHLO)\b[^\n]*\n[ \t]*<<< ?[45]\d\d", re.I | re.M
)
_TRANSCRIPT_COMMANDS = {"mail from": "MAIL", "rcpt to": "RCPT", "data": "DATA"}


def has_evidence(text: str) -> bool:
    """A reply code, a status, or words of failure (those of the reason taxonomy included)."""
    return bool(_EVIDENCE.search(text)) or strong_evidence(text)


def strong_evidence(text: str) -> bool:
    """A reply code, an enhanced status, or words that name a reason of the taxonomy."""
    if _CODES.search(text):
        return True
    lower = text.lower()
    # Each group's alternatives tried only where their words are (regex_literals.found).
    return any(found(pattern, lower) for pattern in PHRASES.values())


def recipient_blocks(
    text: str, own: set[str], known: Collection[str] = (), *, reasons_above: bool = True
) -> list[tuple[str, str]]:
    """(address, its text) per recipient named in the report's text, in order.

    A block starts at a line naming a new address and runs to the end of its paragraph; a
    block without evidence takes the next paragraph when that one names no address (the
    "address:" line, then the server's words, as DragonFly, qmail and Yahoo write them).
    With ``reasons_above``, a block without evidence takes its paragraph's lines above it.
    """
    paragraphs = [p for p in _PARAGRAPH.split(text) if p.strip()]
    blocks: list[tuple[str, list[str]]] = []
    for number, paragraph in enumerate(paragraphs):
        opened = len(blocks)
        found, before = _paragraph_blocks(paragraph, own, known)
        blocks.extend(found)
        if reasons_above and len(blocks) > opened and not has_evidence(" ".join(blocks[opened][1])):
            # The reason written above its address ("User not listed in public Name &
            # Address Book" then the address, as Lotus Notes and the carriers write it).
            blocks[opened][1].extend(line for line in before if has_evidence(line))
        for index in range(opened, len(blocks)):
            lines = blocks[index][1]
            for following in paragraphs[number + 1 : number + 4]:
                if _names_address(following, own) or _complete(" ".join(lines), following):
                    break
                lines.append(" ".join(ln.strip() for ln in following.split("\n")))
    return [(address, " ".join(ln for ln in lines if ln)) for address, lines in blocks]


def _complete(block: str, following: str) -> bool:
    """A block with a code is complete; one with reason words only still takes the next
    paragraph when that one holds the server's codes (Gmail's French "sa boîte de réception
    est pleine", then "La réponse du serveur distant était : 552 5.2.2 ...")."""
    if not strong_evidence(block):
        return False
    return bool(_CODES.search(block)) or not _CODES.search(following)


# Sendmail's transcript opens each remote session with "... while talking to HOST:"; what
# follows is the next named recipient's, not the previous one's.
_SESSION = re.compile(r"^\s*\.\.\. while talking to ", re.I)


def _paragraph_blocks(
    paragraph: str, own: set[str], known: Collection[str]
) -> tuple[list[tuple[str, list[str]]], list[str]]:
    """The blocks a paragraph opens, and its lines before the first of them."""
    blocks: list[tuple[str, list[str]]] = []
    before: list[str] = []
    pending: list[str] | None = None  # a new session's lines, waiting for their address
    for line in paragraph.split("\n"):
        stripped = line.strip()
        # Both end with ":" and the session mark holds "...": most lines are tested by ``in``.
        if ":" in line and (_HEADER_LINE.match(stripped) or _SENDER_LINE.match(line)):
            continue
        if blocks and "..." in line and _SESSION.match(line):
            pending = []
            continue
        named = [a for a in _addresses(line) if a.lower() in known or _is_candidate(a, own, line)]
        current = blocks[-1][0].lower() if blocks else None
        fresh = [a for a in named if a.lower() != current]
        if fresh and (current is None or pending is not None or _leads(line, fresh[0])):
            blocks.append((fresh[0], [*(pending or []), stripped]))
            pending = None
        elif not blocks:
            before.append(stripped)
        elif pending is not None and not named:
            pending.append(stripped)
        else:
            blocks[-1][1].extend([*(pending or []), stripped])
            pending = None
    if blocks and pending:
        blocks[-1][1].extend(pending)
    return blocks, before


def _leads(line: str, address: str) -> bool:
    """The address opens the line ("  jo@x:", "<jo@x>", "Recipient: <jo@x>"), as a new
    recipient does; "(generated from jo@x)" or "RCPT TO:<jo@x>" inside a block does not."""
    head = line.strip().lower()
    position = head.find(address.lower())
    return 0 <= position <= 12 and not head.startswith(("(", ">>>", "<<<", "rcpt", "mail"))


def _names_address(text: str, own: set[str]) -> bool:
    return any(_is_candidate(a, own, "") for a in _addresses(text))


def _addresses(text: str) -> list[str]:
    """``_ADDRESS.findall(text)``; none without an "@" (most lines of a report: the scan,
    whose look-behind is tried at every position, is skipped, issue 3 round 3)."""
    return _ADDRESS.findall(text) if "@" in text else []


def _is_candidate(address: str, own: set[str], line: str) -> bool:
    """Not the report's own addresses; a postmaster address only alone on its line (the
    failed recipient itself, not "write to postmaster@...")."""
    if address.lower() in own:
        return False
    return not _is_service_address(address) or line.strip().strip("<>") == address


def _transcript_command(text: str, address: str) -> str | None:
    """The command a Sendmail-style transcript (``>>> RCPT To:<a>`` / ``<<< 550``) failed at."""
    found = None
    for match in _TRANSCRIPT.finditer(text):
        command = _TRANSCRIPT_COMMANDS.get(match.group(1).lower(), match.group(1).upper())
        if address.lower() in match.group(0).lower():
            return command
        found = found or command
    return found


_SENT_COMMAND = re.compile(r"(?:>>>|-->) ?(MAIL FROM|RCPT TO|DATA)\b", re.I)


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
        failed = {a.lower(): a for a in _ADDRESS.findall(mail.header("X-Failed-Recipients"))}
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
            delivered = success_facts(text, lambda a, line: _is_candidate(a, own, line))
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


def recipient_texts(
    text: str, own: set[str], only: dict[str, str] | None = None, *, reasons_above: bool = True
) -> dict[str, tuple[str, str]]:
    """Per recipient (lower-cased key): its address and all its blocks with evidence, those
    naming a code or a reason first (Exchange repeats the address with the server's reply)."""
    # Per recipient: its address, its blocks (strong ones first), how many are strong. Each
    # block's evidence is read once (``has_evidence`` is ``_EVIDENCE`` or strong evidence).
    blocks: dict[str, tuple[str, list[str], list[int]]] = {}
    for address, block in recipient_blocks(text, own, only or (), reasons_above=reasons_above):
        key = address.lower()
        if only and key not in only:
            continue
        strong = strong_evidence(block)
        if not (strong or _EVIDENCE.search(block) or only):
            continue
        entry = blocks.setdefault(key, (address, [], [0]))
        if strong:
            entry[1].insert(entry[2][0], block)
            entry[2][0] += 1
        else:
            entry[1].append(block)
    return {key: (address, " ".join(parts)) for key, (address, parts, _) in blocks.items()}


def _first_evidence(text: str) -> str:
    for line in text.split("\n"):
        if find_reply(line) or find_enhanced_status(line):
            return line.strip()
    return ""


def _evidence_text(text: str) -> str:
    """The report's words for a recipient it does not name beside them: its first line with
    a code, then its paragraphs naming a code or a reason (else those with failure words)."""
    paragraphs = [" ".join(p.split()) for p in _PARAGRAPH.split(text) if p.strip()]
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
        named = {a.lower() for a in _LABEL.findall(text) if _is_candidate(a, own, a)}
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
    found = {a.lower() for h in headers for a in _ADDRESS.findall(h)} - own
    found = {a for a in found if not _is_service_address(a)}
    return found.pop() if len(found) == 1 else None


DETECTOR = FallbackDetector()
