"""Exim's bounce text, parsed for ``exim`` and the Exim-based providers (``mailru``).

Layout (``exim/src/deliver.c``): a lead sentence ("The following address(es) failed:", "...has
not yet been delivered is:", "...incorrectly constructed:"), then per recipient the address at
a small indent with the detail lines indented further, then "------ This is a copy of the
message, including all the headers. ------". ``X-Failed-Recipients`` lists the same addresses.
"""

from __future__ import annotations

import re

from mailbounce.bounces import _mailtexts as mt
from mailbounce.bounces import _textblocks as tb
from mailbounce.bounces._prefilter import folded, search
from mailbounce.bounces.base import Mail
from mailbounce.lazy_patterns import lazy_compile
from mailbounce.models import BounceFacts, Reason

# Where the recipient list starts (exim's bounce, warning and malformed-address texts).
_START = lazy_compile(
    r"following address(?:\(es\)|es)? failed:?\s*$|not yet been delivered (?:is|are):?\s*$"
    r"|incorrectly constructed:\s*$|^\s*The following address failed:?\s*$"
    # Hosts that translate Exim's bounce_message_file (French hosting is common here).
    r"|adresses? suivantes? (?:a|ont) échoué\s*:?\s*$",
    re.I,
)
_STOP = lazy_compile(
    r"^-{2,} ?(This is a copy of|The body of the message|This is a copy of the message's)"
    r"|^No action is required on your part|^This address has been ignored"
    r"|^The following text was generated during the delivery attempt"
    r"|^Reporting-MTA:|^-{3} The header of the original message",
    re.I,
)
# Written ``--+`` (not ``-{2,}``): ``_prefilter.search`` then tries the regex only where
# ``"--"`` starts; it reads no literal from a counted repeat and scanned the whole text
# (issue 3, session 9).
_SEPARATOR = lazy_compile(r"^--+ ?(This is a copy of|The body of the message)", re.I | re.M)
_GENERATED_TEXT = lazy_compile(
    r"^The following text was generated during the delivery attempt.*?\n(.*)", re.I | re.S
)
_DELAYED = lazy_compile(r"has not yet been delivered|^Warning: message", re.I | re.M)
_HOST = lazy_compile(r"\bhost:?\s+([\w.-]+\.[a-z]{2,}|\[[\d.:a-f]+\])", re.I)
_COMMAND = lazy_compile(
    r"after (RCPT TO|MAIL FROM|end of data|initial connection|EHLO|HELO|DATA|pipelined)", re.I
)
_COMMANDS = {
    "rcpt to": "RCPT",
    "mail from": "MAIL",
    "end of data": "DATA",
    "data": "DATA",
    "initial connection": "CONN",
    "ehlo": "EHLO",
    "helo": "HELO",
}
_NOT_DIAGNOSTIC = lazy_compile(r"^\(?(ultimately )?generated (by|from)\b", re.I)
_LOCAL_DELIVERY = lazy_compile(r"^(pipe to|save to|\|)|^/", re.I)
_REMOTE_WORDS = lazy_compile(r"SMTP error from remote|Delay reason: SMTP", re.I)

# Exim's own texts (not the remote server's): they name the reason by themselves.
_OWN_TEXTS: tuple[tuple[Reason, re.Pattern[str]], ...] = tuple(
    (reason, lazy_compile(pattern, re.I))
    for reason, pattern in (
        (Reason.MAILBOXFULL, r"mailbox is full|quota exceed"),
        (Reason.SYNTAXERROR, r"malformed address"),
        (Reason.NOTACCEPT, r"MX or SRV record indicated no SMTP service"),
        (
            Reason.HOSTUNKNOWN,
            r"unrouteable address|all relevant MX records point to non-existent hosts"
            r"|all host address lookups failed permanently|account or domain may not exist"
            r"|no such domain|domain not found",
        ),
        (Reason.CONTENTERROR, r"Too many \"?Received\"? headers"),
        (
            Reason.SYSTEMERROR,
            r"delivery to (file|pipe) forbidden|local delivery failed"
            r"|remote host address is the local host",
        ),
        (Reason.MAILERERROR, r"transport returned|Child process of \S+ transport"),
        (
            Reason.EXPIRED,
            r"retry timeout exceeded|retry time not reached for any host after a long failure"
            r"|have been failing for a long time",
        ),
    )
)


def body_records(mail: Mail, text: str) -> list[BounceFacts]:
    """``parse_exim_text`` of ``text``, the message's body text, with its X-Failed-Recipients,
    its subject and the body's lower-cased text made once a message (``exim``, ``mailru``)."""
    lowered = mt.body_lowered(mail, text)
    return parse_exim_text(
        text,
        mail.header("X-Failed-Recipients"),
        mail.subject,
        None if lowered is mt.NOT_FOLDED else lowered,
    )


def parse_exim_text(
    text: str, failed_header: str, subject: str = "", lowered: str | None = None
) -> list[BounceFacts]:
    """Records from Exim's bounce text (shared with Exim-based providers such as Mail.Ru).

    ``lowered``: ``folded(text)`` when the caller has it (the body's, made once a message).
    """
    blocks = tb.indented_blocks(tb.lines_between(text, _START, _STOP))
    failed = [a.lower() for a in tb.ADDRESS.findall(failed_header)]
    # Tried only where its words start (a case-insensitive scan of 3,000 characters cost
    # more than the rest of the reading: issue 3, round 3).
    # ``search_text(_DELAYED, text[:3000])`` from the body's lower-cased text, not a new
    # lower-cased copy of the slice each time.
    if lowered is None:
        lowered = folded(text)
    head = text[:3000]
    delayed = bool(
        search(_DELAYED, head, None if lowered is None else lowered[:3000])
        or _DELAYED.search(subject)
    )
    generated = _GENERATED_TEXT.search(tb.cut_at(text, _SEPARATOR))
    extra = generated.group(1) if generated else ""
    records: list[BounceFacts] = []
    for index, (head, details) in enumerate(blocks):
        recipient = _recipient(head, details, failed, index)
        if recipient is None:
            continue
        records.append(_facts(recipient, head, details, extra, delayed))
    if not records and failed:
        # An operator-customised bounce text: X-Failed-Recipients still names the addresses.
        diagnostic = tb.cut_at(text, _SEPARATOR)
        records = [_facts(address, "", [diagnostic], "", delayed) for address in failed]
    return records


def _recipient(head: str, details: list[str], failed: list[str], index: int) -> str | None:
    if _LOCAL_DELIVERY.search(head):
        for line in details:
            if _NOT_DIAGNOSTIC.search(line) and (found := tb.first_address(line)):
                return found
        if index < len(failed):
            return failed[index]
    found = tb.first_address(head)
    if found is None and index < len(failed):
        return failed[index]
    return found


def _facts(recipient: str, head: str, details: list[str], extra: str, delayed: bool) -> BounceFacts:
    lines = [line for line in details if not _NOT_DIAGNOSTIC.search(line)]
    # A head such as "addr <x>: malformed address: ..." carries its diagnostic inline.
    inline = head.split(":", 1)[1] if ":" in head and "@" in head.split(":", 1)[0] else ""
    if _LOCAL_DELIVERY.search(head):
        inline = head
    diagnostic = tb.squeeze(" ".join([inline, *lines, extra]))
    host = _HOST.search(diagnostic)
    command = _COMMAND.search(diagnostic)
    return tb.make_facts(
        recipient,
        diagnostic,
        action="delayed" if delayed else "failed",
        reason_hint=_own_reason(diagnostic, head),
        remote_mta=host.group(1).strip("[]") if host else None,
        smtp_command=_COMMANDS.get(command.group(1).lower()) if command else None,
    )


def _own_reason(diagnostic: str, head: str) -> Reason | None:
    """The reason Exim itself states, unless the words are the remote server's reply."""
    if _REMOTE_WORDS.search(diagnostic):
        return None
    if _LOCAL_DELIVERY.search(head) and head.lower().startswith(("pipe", "|")):
        return Reason.MAILERERROR
    for reason, pattern in _OWN_TEXTS:
        if pattern.search(diagnostic):
            return reason
    return None
