"""Shared parsing for the plain-text bounce layouts of non-standard MTAs (families a-m).

Most non-standard MTAs write one human-readable text: a fixed lead sentence, then per
recipient an address followed by the remote server's words, then a fixed separator before the
returned message. The family modules only know their markers; the cutting, address and code
extraction live here so every family reads codes the same way (RFC 3463 / RFC 5321).
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from mailbounce.bounces._prefilter import folded, required_literals, search_text
from mailbounce.bounces.base import Mail
from mailbounce.bounces.rfc3464 import _blocks_from_text as _fields_from_text
from mailbounce.bounces.rfc3464 import find_reply, parse_delivery_status
from mailbounce.lazy_patterns import lazy_compile
from mailbounce.models import BounceFacts, Reason
from mailbounce.regex_literals import PerPattern

ADDRESS = lazy_compile(r"[\w.!#$%&'*+/=?^`{|}~-]+@[\w-]+(?:\.[\w-]+)+", re.ASCII)
# The look-behind after the first character (the same test: the character before it) lets
# the regex engine skip to the digits a code starts with (a leading look-behind tries every
# position: 3x slower on a diagnostic, issue 3 round 3).
_ENHANCED = lazy_compile(r"([245])(?<![\d.][245])\.(\d{1,3})\.(\d{1,3})(?![\d.]*\d)")
_AFTER_REPLY = lazy_compile(r"[245]\d\d[ \-]'?\s*$")  # a code right after a reply code
_REPLY_FIRST = lazy_compile(r"^\s*(?:<<<\s*)?([245][0-5]\d)(?:[ \-]|$)")


def cut_at(text: str, separator: re.Pattern[str]) -> str:
    """The text before the first match of ``separator`` (the returned message starts there)."""
    match = search_text(separator, text)  # the regex tried where its literal starts
    return text[: match.start()] if match else text


def first_address(text: str) -> str | None:
    """The first e-mail address in ``text``, lower-cased as recipients are compared."""
    match = ADDRESS.search(text)
    return match.group(0).strip(".").lower() if match else None


def squeeze(text: str) -> str:
    """Whitespace runs (line folds of the MTA's layout) collapsed to one space."""
    # str.split and re's \s agree on what whitespace is (test_classify); 3x cheaper.
    return " ".join(text.split())


def enhanced_status(text: str) -> str | None:
    """The most specific RFC 3463 code in ``text``.

    The remote server's own code wins over the reporting MTA's wrapper code (SES writes
    ``5.1.0 - Unknown address error 550-'5.7.1 ...'``): a code right after a reply code is
    preferred, then the first code whose subject/detail is not ``0.0``.
    """
    if "." not in text:
        return None  # every code holds two dots
    matches = list(_ENHANCED.finditer(text))  # one scan for both passes (issue 3)
    if not matches:
        return None
    for match in matches:
        before = text[max(0, match.start() - 6) : match.start()]
        if _AFTER_REPLY.search(before) and not match.group(0).endswith(".0.0"):
            return match.group(0)
    for match in matches:
        if not match.group(0).endswith(".0.0"):
            return match.group(0)
    return matches[0].group(0)


def reply_code(text: str) -> str | None:
    """The SMTP reply code as found: at the start of the text, else the first standing alone."""
    first = _REPLY_FIRST.match(text)
    if first and find_reply(first.group(1)):
        return first.group(1)
    return find_reply(text)


def make_facts(
    recipient: str,
    diagnostic: str,
    *,
    action: str | None = "failed",
    status: str | None = None,
    replycode: str | None = None,
    reason_hint: Reason | None = None,
    remote_mta: str | None = None,
    reporting_mta: str | None = None,
    smtp_command: str | None = None,
) -> BounceFacts:
    """Facts for one recipient, codes taken from the diagnostic when not given."""
    text = squeeze(diagnostic)
    found_status = enhanced_status(text)
    status = _most_specific(found_status, status)
    code = replycode or reply_code(text)
    if code and status and code[0] != status[0]:
        code = None if found_status and found_status[0] == status[0] else code
    if action is None and status:
        action = "delayed" if status[0] == "4" else "failed"
    return BounceFacts(
        recipient=recipient.lower(),
        action=action,
        status=status,
        replycode=code,
        diagnostic=text,
        remote_mta=remote_mta,
        reporting_mta=reporting_mta,
        reason_hint=reason_hint,
        smtp_command=smtp_command,
    )


def _most_specific(found: str | None, given: str | None) -> str | None:
    if given is None:
        return found
    if found is None or not given.endswith(".0.0"):
        return given
    return found if found[0] == given[0] else given


def lines_between(
    text: str, start: re.Pattern[str], stop: re.Pattern[str] | None = None
) -> list[str]:
    """The lines after the first line matching ``start`` up to (not incl.) a ``stop`` line."""
    lines = text.split("\n")
    first = _first_line_matching(start, text, lines)
    if first is None:
        return []
    body = lines[first + 1 :]
    if stop is not None:
        for index, line in enumerate(body):
            if stop.search(line):
                return body[:index]
    return body


def _first_line_matching(pattern: re.Pattern[str], text: str, lines: list[str]) -> int | None:
    """The index of the first of ``lines`` (``text.split("\\n")``) that ``pattern.search``
    matches. Only lines holding a literal every match needs are tried (no literal holds a
    line break, so a line's match holds it within the line), found with ``str.find`` in the
    text, lower-cased when the pattern ignores case (``folded``); the regex decides."""
    literals, ignores_case = _line_literals(pattern)
    haystack: str | None = text
    if literals is not None and ignores_case:
        haystack = folded(text)
    if literals is None or haystack is None:
        return next((i for i, line in enumerate(lines) if pattern.search(line)), None)
    index, counted = 0, 0  # the line index of position ``counted``
    at = _next_literal(haystack, literals, 0)
    while at != -1:
        index += text.count("\n", counted, at)
        counted = at
        if pattern.search(lines[index]):
            return index
        end = text.find("\n", at)
        if end == -1:
            return None
        at = _next_literal(haystack, literals, end + 1)
    return None


def _next_literal(haystack: str, literals: tuple[str, ...], start: int) -> int:
    """The first position from ``start`` where one of ``literals`` starts, -1 if none."""
    found = [at for at in (haystack.find(literal, start) for literal in literals) if at != -1]
    return min(found, default=-1)


# A pattern's required literals when none holds a line break (else None: every line tried),
# and whether it ignores case, read once: ``flags & re.IGNORECASE`` on a lazy pattern's
# ``RegexFlag`` runs ``enum.Flag.__and__`` in Python (~2% of the Exim and Sendmail detectors).
_line_literals = PerPattern(
    lambda pattern: (
        (
            None
            if (found := required_literals(pattern)) is None or any("\n" in lit for lit in found)
            else found
        ),
        bool(pattern.flags & re.IGNORECASE),
    )
)


def indented_blocks(lines: Iterable[str]) -> list[tuple[str, list[str]]]:
    """Split an address list laid out as ``  addr`` then more-indented detail lines.

    Returns (head line, detail lines) pairs. A head is a non-blank line whose indent is the
    smallest seen in the section (Exim, Mail.Ru, MXLogic, GMX write recipients this way).
    """
    rows = [line.rstrip() for line in lines]
    indents = [len(r) - len(r.lstrip()) for r in rows if r.strip()]
    if not indents:
        return []
    head_indent = min(indents)
    blocks: list[tuple[str, list[str]]] = []
    for row in rows:
        if not row.strip():
            continue
        indent = len(row) - len(row.lstrip())
        if indent == head_indent:
            blocks.append((row.strip(), []))
        elif blocks:
            blocks[-1][1].append(row.strip())
    return blocks


def with_dsn(
    mail: Mail, text_facts: list[BounceFacts], *, text_required: bool = False
) -> list[BounceFacts]:
    """The RFC 3464 part's facts when the bounce carries one, completed by the text's.

    The delivery-status fields are the structured truth (status, action, remote MTA); the
    MTA's text adds what it knows better: the SMTP command, its own reason, a diagnostic the
    report left empty. ``text_required``: a detector recognised only by weak traces (a
    Received header or a gateway's header, which an inbound gateway also adds to foreign
    bounces) claims the report only when its own text layout was found.
    """
    if text_required and not text_facts:
        return []
    dsn = parse_delivery_status(mail)
    if not dsn:
        return text_facts
    by_recipient = {f.recipient.lower(): f for f in text_facts}
    merged: list[BounceFacts] = []
    for fact in dsn:
        extra = by_recipient.get(fact.recipient.lower()) or _NO_TEXT_FACTS
        diagnostic = fact.diagnostic or extra.diagnostic
        replycode = fact.replycode or reply_code(fact.diagnostic) or extra.replycode
        status = _remote_status(fact) or extra.status
        smtp_command = fact.smtp_command or extra.smtp_command
        reason_hint = fact.reason_hint or extra.reason_hint
        if (
            diagnostic == fact.diagnostic
            and replycode == fact.replycode
            and status == fact.status
            and smtp_command == fact.smtp_command
            and reason_hint == fact.reason_hint
        ):
            merged.append(fact)  # the report said it all: the same facts, no copy made
            continue
        merged.append(
            fact.amended(
                diagnostic=diagnostic,
                replycode=replycode,
                status=status,
                smtp_command=smtp_command,
                reason_hint=reason_hint,
            )
        )
    return merged


_NO_TEXT_FACTS = BounceFacts(recipient="")  # a recipient the text does not list (frozen)


def _remote_status(fact: BounceFacts) -> str | None:
    """The report's status, unless its diagnostic holds the remote server's more specific one.

    A relay may wrap the remote reply in its own code (Amazon SES: ``5.1.0 - Unknown address
    error 550-'5.7.1 ... Access denied'``); the code that follows the reply code is the remote's.
    """
    remote = enhanced_status(fact.diagnostic)
    status = fact.status
    if remote is None or status is None or remote[0] != status[0]:
        return status or remote
    if status.endswith(".0.0") or status in fact.diagnostic:
        return remote
    return status


def field_blocks(text: str) -> list[dict[str, str]]:
    """RFC 3464-style field groups written as plain text (lower-cased names; folds joined).

    The RFC 3464 module's own reader of text-typed reports, so both read fields alike.
    """
    return _fields_from_text(text)


ReasonTable = tuple[tuple[Reason, re.Pattern[str]], ...]


def reason_table(*rows: tuple[Reason, str]) -> ReasonTable:
    """An MTA's own fixed sentences, each naming a reason (checked in order)."""
    return tuple((reason, lazy_compile(pattern, re.I)) for reason, pattern in rows)


def own_reason(text: str, table: ReasonTable) -> Reason | None:
    """The reason of the first of the MTA's own sentences found in ``text``."""
    return next((reason for reason, pattern in table if pattern.search(text)), None)


def with_hint(fact: BounceFacts, reason: Reason) -> BounceFacts:
    """``fact`` with the MTA's own reason, unless it already carries one."""
    return fact if fact.reason_hint is not None else fact.amended(reason_hint=reason)


_LEADING_ADDRESS = lazy_compile(
    r"^\s*(?:[>*-]+\s*)?[\"'<]{0,2}([\w.!#$%&'*+/=?^`{|}~-]+@[\w-]+(?:\.[\w-]+)+)[\"'>]{0,2}"
    r"(?:\s+on\s+.*|\s*[:,]\s*(.*)|\s*)$",
    re.ASCII,
)


def address_blocks(lines: Iterable[str]) -> list[tuple[str, list[str]]]:
    """(address, detail lines) for a list where each recipient starts a line.

    The address may be bare, in angle brackets or quotes, may be followed by ":" and the
    reply on the same line; the lines until the next address line are its details. Used by
    the families whose layout is "address, then what happened" (hMailServer, Kerio,
    IceWarp, Axigen, ...).
    """
    blocks: list[tuple[str, list[str]]] = []
    for line in lines:
        found = _LEADING_ADDRESS.match(line) if "@" in line else None  # every match has one
        if found:
            blocks.append((found.group(1).lower(), [found.group(2)] if found.group(2) else []))
        elif blocks and line.strip():
            blocks[-1][1].append(line.strip())
    return blocks


_REPLY_LABEL = lazy_compile(
    r"^(Reason|Error|Diagnostic|Remote server (said|replied)|Server replied)\s*:\s*", re.I
)


def listed_facts(
    text: str, start: re.Pattern[str], stop: re.Pattern[str], *, delayed: bool = False
) -> list[BounceFacts]:
    """Facts for an "address, then what happened" list between a lead line and a stop line.

    Lines labelled as the reply ("Reason:", "Remote server replied:") are the diagnostic when
    present, else every detail line; the labels themselves are dropped.
    """
    facts = []
    for recipient, lines in address_blocks(lines_between(text, start, stop)):
        labelled = [_REPLY_LABEL.sub("", line) for line in lines if _REPLY_LABEL.match(line)]
        words = labelled or [_REPLY_LABEL.sub("", line) for line in lines]
        facts.append(
            make_facts(recipient, " ".join(words), action="delayed" if delayed else "failed")
        )
    return facts
