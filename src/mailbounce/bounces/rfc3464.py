"""RFC 3464 delivery status notifications: ``message/delivery-status`` per-recipient groups.

``parse_delivery_status`` is public so that MTA detectors whose format also carries a
delivery-status part reuse it and only add what their text knows better (shared picture).
"""

from __future__ import annotations

import re
from email._policybase import compat32  # email.policy's, without importing email.policy
from email.message import Message
from typing import Any

from mailbounce.bounces._prefilter import folded, search, search_text
from mailbounce.bounces.base import Mail, header_items, part_text
from mailbounce.diagnostic_text import find_enhanced_status
from mailbounce.lazy_patterns import lazy_compile
from mailbounce.models import BounceFacts

_DSN_TYPES = frozenset({"message/delivery-status", "message/global-delivery-status"})
_NOT_IN_ADDRESS = lazy_compile(r"[\x00-\x20<>\"';,()]")
_MAX_DIAGNOSTIC = 2000  # enough for any real reply; a hostile field is cut, not carried
_CONTROL = lazy_compile(r"[\x00-\x08\x0b-\x1f\x7f]")
_TYPED = lazy_compile(r"^\s*[\w-]+\s*;\s*(.*)$", re.S)
# A reply code stands alone: "550 5.1.1", "550-5.1.1", "said: 550 ...", not "5.5.0" or "2550".
# The look-behind after the first digit (the same test: the character before it) lets the
# regex engine skip to the digits a code starts with (3x faster, issue 3 round 3).
_REPLY_CODE = lazy_compile(r"([245](?<![\w.#/:=-][245])[0-5]\d)(?=[ :,-]|$)(?!:\d)")
# The reply codes of RFC 5321 §4.2 and its extensions (anything else is a number in prose).
# fmt: off
_VALID_REPLIES = frozenset(str(code) for code in (
    211, 214, 220, 221, 235, 250, 251, 252, 253, 354,
    421, 422, 450, 451, 452, 453, 454, 455, 458, 459,
    500, 501, 502, 503, 504, 521, 523, 524, 525, 530, 531, 532, 533, 534, 535, 538,
    540, 541, 542, 543, 550, 551, 552, 553, 554, 555, 556, 557,
))
# fmt: on
_COMMAND = lazy_compile(
    r"in reply to (?:the )?(MAIL FROM|RCPT TO|DATA|end of DATA|HELO|EHLO|STARTTLS|AUTH)"
    r"|after (initial connection|HELO|EHLO|MAIL FROM|RCPT TO|DATA|end of data|pipelined \w+)",
    re.I,
)
_COMMAND_NAMES = {
    "mail from": "MAIL",
    "rcpt to": "RCPT",
    "data": "DATA",
    "end of data": "DATA",
    "helo": "HELO",
    "ehlo": "EHLO",
    "initial connection": "CONN",
    "starttls": "STARTTLS",
    "auth": "AUTH",
}
_STATUS = lazy_compile(r"^\s*([245])\.(\d{1,3})\.(\d{1,3})")


def clean_address(value: str) -> str:
    """``rfc822; <Jo@Example.org>`` -> ``Jo@Example.org`` (type prefix, brackets removed).

    Token-based, not a regex search: linear whatever the length of a hostile header.
    """
    if not value:
        return ""  # the per-message group of every report has no recipient field
    if not value.isprintable():  # every character _CONTROL removes is unprintable
        value = _CONTROL.sub("", value)
    typed = _TYPED.match(value)
    text = (typed.group(1) if typed else value).strip()
    if "<" in text and ">" in text[text.index("<") :]:
        text = text[text.index("<") + 1 : text.index(">", text.index("<"))]
    for token in text.split():
        if "@" in token:
            address = token.strip("<>\"'.;,()[]")
            local, _, domain = address.rpartition("@")
            if local and domain and not _NOT_IN_ADDRESS.search(address):
                return address
    return ""


def strip_type(value: str) -> str:
    """``smtp; 550 5.1.1 ...`` -> ``550 5.1.1 ...``, whitespace folded to single spaces."""
    if not value:
        return ""  # most groups have no Remote-MTA
    typed = _TYPED.match(value)
    text = typed.group(1) if typed else value
    # ``_WS.sub(" ", text).strip()``: str.split and re's \s agree on what whitespace is
    # (``test_spaces_fold_as_the_regex_folded_them``); the split is ~3x cheaper.
    return " ".join(text.split())


def find_reply(text: str, status: str | None = None) -> str | None:
    """The first SMTP reply code standing alone in ``text`` (``550``), or None.

    With a failure ``status`` (4.x.x, 5.x.x), a 2xx/3xx greeting quoted before the refusal
    ("220-laposte 421 4.2.1 Service refusé") is skipped.
    """
    failing = (status or "")[:1] in ("4", "5")
    for match in _REPLY_CODE.finditer(text):
        code = match.group(1)
        if code in _VALID_REPLIES and not (failing and code[0] in "23"):
            return code
    return None


def find_command(text: str) -> str | None:
    """The SMTP command a diagnostic says it answers (``in reply to RCPT TO command``)."""
    if text.isascii():
        # Every match starts with "in reply to" or "after" (any case): an ASCII text
        # without them lower-cased is answered without the pattern's literal bookkeeping
        # (most diagnostics: ~1 us each, issue 3 session 8).
        lowered = text.lower()
        if "in reply to" not in lowered and "after" not in lowered:
            return None
        match = search(_COMMAND, text, lowered)
    else:
        match = search_text(_COMMAND, text)  # tried where "in reply to" / "after" start
    if match is None:
        return None
    words = (match.group(1) or match.group(2)).lower()
    if words.startswith("pipelined"):
        words = words.split()[-1]
    return _COMMAND_NAMES.get(words, words.upper())


def best_status(status: str | None, diagnostic: str) -> str | None:
    """The most specific status: a code in the diagnostic beats a generic ``x.0.0`` field."""
    found = find_enhanced_status(diagnostic) if diagnostic else None
    matched = _STATUS.match(status) if status else None
    if matched is None:
        return found
    status = matched.group(0).strip()
    # The remote server's own code (in the diagnostic) is more precise than the reporting
    # MTA's summary, which is often generic (5.0.0) or its own view (4.4.7 "gave up").
    if found and found[0] == status[0] and found != status:
        return found
    return status


def _fields(block: Message) -> dict[str, str]:
    """``{key.lower(): str(value) for key, value in header_items(block)}``, one pass."""
    if block.policy is not compat32:
        return {key.lower(): str(value) for key, value in header_items(block)}
    fetch = compat32.header_fetch_parse
    # The field list itself, not ``raw_items()``'s copy of it and iterator (~10% of this).
    fields: list[tuple[str, Any]] = block._headers  # type: ignore[attr-defined]
    return {
        key.lower(): value if value.__class__ is str and value.isascii() else str(fetch(key, value))
        for key, value in fields
    }


def _blocks(part: Message) -> list[dict[str, str]]:
    payload = part.get_payload()
    if isinstance(payload, list):
        return [_fields(block) for block in payload if isinstance(block, Message)]
    return _blocks_from_text(part_text(part))


_FIELD = lazy_compile(r"^([A-Za-z][\w-]*)\s*:\s?(.*)$")


def _blocks_from_text(text: str) -> list[dict[str, str]]:
    """Field groups of a delivery-status body given as text (encoded or mis-typed parts)."""
    blocks: list[dict[str, str]] = []
    current: dict[str, str] = {}
    last = ""
    for line in text.split("\n"):
        if not line or line.isspace():  # ``not line.strip()``, without a copy of the line
            if current:
                blocks.append(current)
                current, last = {}, ""
            continue
        if line[0] in " \t" and last:
            current[last] += " " + line.strip()
            continue
        # Every field line holds a colon: most lines of a pasted report's text (the
        # returned message after it) are not tried with the regex (issue 3, session 8).
        match = _FIELD.match(line) if ":" in line else None
        if match:
            last = match.group(1).lower()
            current[last] = match.group(2)
    if current:
        blocks.append(current)
    return blocks


def facts_from_fields(fields: dict[str, str], reporting_mta: str | None) -> BounceFacts | None:
    """One per-recipient group -> facts, or None without a usable recipient address."""
    # ``clean_address(final) or clean_address(original)``, without a call for a group that
    # has neither (the per-message group of every report).
    final = fields.get("final-recipient")
    recipient = clean_address(final) if final else ""
    if not recipient:
        original = fields.get("original-recipient")
        recipient = clean_address(original) if original else ""
        if not recipient:
            return None
    raw_diagnostic = fields.get("diagnostic-code")
    if raw_diagnostic:
        typed = _TYPED.match(raw_diagnostic)
        # ``strip_type(raw_diagnostic)``, from the match just made.
        diagnostic = " ".join((typed.group(1) if typed else raw_diagnostic).split())
        diagnostic = diagnostic[:_MAX_DIAGNOSTIC]
        kind = raw_diagnostic.split(";", 1)[0].strip().lower() if typed else None
    else:
        # An empty diagnostic: no code, no command (the scans below would find none).
        diagnostic, kind = "", None
    # ``best_status(fields.get("status", "").strip() or None, diagnostic)``, inlined (a call
    # per group, issue 3 session 8).
    found = find_enhanced_status(diagnostic) if diagnostic else None
    given = fields.get("status")
    matched = _STATUS.match(given) if given else None
    if matched is None:
        status = found
    else:
        status = matched.group(0).strip()
        if found and found[0] == status[0] and found != status:
            status = found
    action = fields.get("action")
    remote = fields.get("remote-mta")
    # Positional, in the fields' order (keywords cost a look-up each in the call).
    return BounceFacts(
        recipient,
        (action.strip().lower() or None) if action else None,
        status,
        find_reply(diagnostic, status) if diagnostic else None,
        diagnostic,
        (strip_type(remote) or None) if remote else None,
        reporting_mta,
        None,
        None,
        find_command(diagnostic) if diagnostic else None,
        kind,
    )


def delivery_status_parts(msg: Message) -> list[Message]:
    """Every delivery-status part, nested reports included, in document order."""
    return [part for part in msg.walk() if part.get_content_type() in _DSN_TYPES]


def facts_from_blocks(blocks: list[dict[str, str]]) -> list[BounceFacts]:
    """Per-recipient facts of one report's field groups (the first group is per-message)."""
    # Loops, not a generator and a filtered comprehension (a frame per group, issue 3).
    reporting = None
    for block in blocks:
        value = block.get("reporting-mta")
        if value:
            reporting = strip_type(value)
            break
    found = []
    for block in blocks:
        # The per-message group names no recipient: no call for it.
        if block.get("final-recipient") or block.get("original-recipient"):
            facts = facts_from_fields(block, reporting)
            if facts is not None:
                found.append(facts)
    return found


def parse_delivery_status(mail: Mail) -> list[BounceFacts] | None:
    """Facts for each per-recipient group of the mail's first report with recipients.

    Many detectors start from this; it is parsed once per message and shared (facts are
    frozen; each caller gets its own list).
    """
    if mail._dsn is None:
        mail._dsn = []
        for part, kind in mail.parts():
            if kind in _DSN_TYPES:
                mail._dsn = facts_from_blocks(_blocks(part))
                if mail._dsn:
                    break
    return list(mail._dsn) or None


_INLINE_RECIPIENT = lazy_compile(r"^(?:Final|Original)-Recipient:", re.I | re.M)


def is_text_like(part: Message) -> bool:
    """A text part, or a multipart whose boundary is broken: the parser leaves it one text."""
    kind = part.get_content_maintype()
    if kind == "multipart":
        return isinstance(part.get_payload(), str)
    return kind == "text" and part.get_content_type() != "text/html"


def parse_inline_delivery_status(mail: Mail) -> list[BounceFacts] | None:
    """Delivery-status fields pasted into a text body (no MIME report, or a broken boundary)."""
    for part, _ in mail.parts():
        if not is_text_like(part):
            continue
        text = mail.part_text(part)  # decoded once per message (body_text read it too)
        match = _INLINE_RECIPIENT.search(text)
        if match is None:
            continue
        start = text.rfind("\n\n", 0, match.start())
        head = text.rfind("Reporting-MTA:", 0, match.start())
        facts = facts_from_blocks(_blocks_from_text(text[max(0, min(start, head)) :]))
        if facts:
            return facts
    return None


class Rfc3464Detector:
    """Generic RFC 3464 DSN, after the MTA-specific detectors have passed."""

    name = "rfc3464"

    def detect(self, mail: Mail) -> list[BounceFacts] | None:
        facts = parse_delivery_status(mail) or parse_inline_delivery_status(mail)
        return with_human_part(mail, facts) if facts else None


_PARAGRAPHS = lazy_compile(r"\n[ \t]*\n")
_SENT = lazy_compile(r"^[ \t]*>>> ?(MAIL FROM|RCPT TO|DATA)\b[^\n]*$", re.I | re.M)


def with_human_part(mail: Mail, facts: list[BounceFacts]) -> list[BounceFacts]:
    """Complete each record from the report's human-readable part (RFC 3464 §2, first part).

    The SMTP command a refusal answered when the Diagnostic-Code does not say (Postfix writes
    "(in reply to RCPT TO command)" there; Sendmail's transcript shows ">>> RCPT To:<a>"), and
    the whole multi-line reply when the Diagnostic-Code kept only its first line ("552-5.7.0
    This message was blocked because its content presents a potential")."""
    if all(f.smtp_command and not _CONTINUED.match(f.diagnostic) for f in facts):
        return facts
    human = next((mail.part_text(p) for p, k in mail.parts() if k == "text/plain"), "")[:20_000]
    if not human:
        return facts
    # ``human.lower()``: ``folded`` gives it (or None) and recalls the body text's lowered
    # form, which the gates' view made (the first text/plain part is the body text).
    lowered = folded(human)
    if lowered is None:
        lowered = human.lower()
    # Postfix folds "(in reply to RCPT\n    TO command)" over two lines: one space each.
    paragraphs = [" ".join(p.split()) for p in _PARAGRAPHS.split(lowered)]
    transcript = ">>>" in lowered  # every ``_SENT`` line holds it: no scan without one
    found = []
    for fact in facts:
        command = fact.smtp_command
        key = fact.recipient.lower()
        if command is None and key and key in lowered:
            command = next((c for p in paragraphs if key in p and (c := find_command(p))), None)
            sent = [m for m in _SENT.finditer(lowered) if key in m.group(0)] if transcript else []
            if command is None and sent:
                command = _COMMAND_NAMES.get(sent[-1].group(1))
        diagnostic = _full_reply(human, fact.diagnostic)
        changed = command != fact.smtp_command or diagnostic != fact.diagnostic
        found.append(fact.amended(smtp_command=command, diagnostic=diagnostic) if changed else fact)
    return found


_CONTINUED = lazy_compile(r"^([245]\d\d)-")
_REPLY_LINE = lazy_compile(r"^[ \t]*(?:<<<[ \t]*)?([245]\d\d)([ -])(.*)$")


def _full_reply(human: str, diagnostic: str) -> str:
    """The multi-line reply the diagnostic starts, read from the transcript, or as it is."""
    first = _CONTINUED.match(diagnostic)
    if first is None:
        return diagnostic
    lines = human.split("\n")
    head = diagnostic[:40]
    for index, line in enumerate(lines):
        if head not in line:
            continue
        parts = []
        for following in lines[index:]:
            reply = _REPLY_LINE.match(following)
            if reply is None or reply.group(1) != first.group(1):
                break
            parts.append(reply.group(3).strip())
            if reply.group(2) == " ":
                break
        if len(parts) > 1:
            return f"{first.group(1)} " + " ".join(parts)
    return diagnostic


DETECTOR = Rfc3464Detector()
