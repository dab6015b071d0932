"""Shared parsing for the "address block" bounce layouts of MTA families n-z.

qmail and the MTAs that copied its layout (Yahoo!, the ``x2``/``x4`` ISPs, old Postfix, the
vpopmail/qmail-ldap translations) write, after a fixed lead sentence, one block per recipient::

    <kijitora@example.org>:
    192.0.2.25 does not like recipient.
    Remote host said: 550 5.1.1 <kijitora@example.org>... User unknown

and then a fixed separator before the returned message. Postfix folds the same blocks as
``<addr>: host mx[192.0.2.1] said: 550 ... (in reply to RCPT TO command)``. The family
modules know their markers and their own sentences; the cutting and the code extraction live
here (codes are read by ``_textblocks`` so every family reads them the same way).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from email.message import Message

from mailbounce.bounces._prefilter import folded
from mailbounce.bounces._prefilter import search as literal_search
from mailbounce.bounces._textblocks import make_facts, squeeze
from mailbounce.bounces.base import Mail, part_text
from mailbounce.bounces.rfc3464 import _DSN_TYPES, clean_address
from mailbounce.classify import classify_reason
from mailbounce.lazy_patterns import lazy_compile
from mailbounce.models import BounceFacts, Reason
from mailbounce.regex_literals import generated_function, required_literals

# ``<addr>:`` alone or followed by the error; Postfix adds ``(expanded from <alias>)``.
_BLOCK_HEAD = lazy_compile(
    r"^<([^<>\s@]+@[^<>\s@]+)>(?:\s*\(expanded from [^)]*\))?\s*:\s*(.*)$", re.IGNORECASE
)
# A reply code where the layouts put it: first in the block or after "said:" (Yahoo writes
# ``550: <addr>: User unknown``, a form the generic reader leaves alone).
_SAID_CODE = lazy_compile(r"(?:^|\bsaid:?\s*)([245]\d\d)(?=[\s:-]|$)", re.IGNORECASE)
# Postfix folds ``<addr> (expanded from\n    <alias>): text`` over two lines.
_EXPANDED_FOLD = lazy_compile(r"\(expanded from\s+")
# The SMTP command the failure happened at, as the layouts name it.
_COMMAND = (
    (lazy_compile(r"\bRCPT[ _]TO\b|does not like recipient|\[RCPT_TO\]", re.I), "RCPT"),
    (lazy_compile(r"\bMAIL[ _]FROM\b|sender was rejected|\[MAIL_FROM\]", re.I), "MAIL"),
    (lazy_compile(r"\bDATA\b|failed after I sent the message|end of data", re.I), "DATA"),
    (lazy_compile(r"\b(?:EHLO|HELO)\b|my name was rejected", re.I), "EHLO"),
)
# Reasons that only say "something went wrong": the MTA's own sentence may say better.
_VAGUE = frozenset(
    {
        Reason.ONHOLD,
        Reason.UNDEFINED,
        Reason.SYNTAXERROR,
        Reason.SECURITYERROR,
        Reason.SYSTEMERROR,
        Reason.GREYLISTED,
    }
)


@dataclass(frozen=True, slots=True)
class Sentence:
    """One of an MTA's fixed sentences and the reason it states.

    ``decisive`` sentences describe the reporting MTA's own finding (qmail's "I couldn't find
    any host named"): they decide. Others (``my name was rejected``) frame a remote reply and
    only decide when the remote text itself is vague.
    """

    pattern: re.Pattern[str]
    reason: Reason
    decisive: bool = False


def sentences(*rows: tuple[str, Reason, bool]) -> tuple[Sentence, ...]:
    """Compile a family's sentence table (case-insensitive)."""
    return tuple(Sentence(lazy_compile(p, re.IGNORECASE), r, d) for p, r, d in rows)


def address_blocks(text: str, *, blank_ends_block: bool = False) -> list[tuple[str, str]]:
    """(recipient, detail text) per ``<addr>:`` block, in order; details squeezed.

    Postfix ends each block with a blank line (``blank_ends_block``); qmail-like layouts
    run a block until the next address.
    """
    blocks: list[tuple[str, list[str]]] = []
    open_block = False
    text = _EXPANDED_FOLD.sub("(expanded from ", text)
    end = len(text)
    # The lines of ``text.split("\n")`` in turn, by position. While no block is open, a line
    # adds nothing unless it starts a block (it starts with "<"): the scan skips to the next
    # such line (Postfix's blocks end at a blank line; the returned message may follow).
    pos = 0 if text.startswith("<") else text.find("\n<") + 1
    if pos == 0 and not text.startswith("<"):
        return []
    while True:
        stop = text.find("\n", pos)
        if stop == -1:
            stop = end
        line = text[pos:stop]
        head = _BLOCK_HEAD.match(line) if line.startswith("<") else None  # its first char
        if head:
            blocks.append((head.group(1).strip().lower(), [head.group(2)]))
            open_block = True
        elif blank_ends_block and not line.strip():
            open_block = False
        elif blocks and open_block:
            blocks[-1][1].append(line)
        if stop == end:
            break
        pos = stop + 1
        if not open_block:
            following = text.find("\n<", stop)
            if following == -1:
                break
            pos = following + 1
    return [(rcpt, squeeze("\n".join(lines))) for rcpt, lines in blocks]


def said_code(text: str) -> str | None:
    """The reply code the remote host said, when the layout puts it in a known place."""
    # ``_SAID_CODE.search(text)``: at 0 either branch, further on only where "said" starts
    # (its ``^`` is the text's start), found in the text lower-cased; a case-insensitive
    # scan of the whole block otherwise (issue 3, round 3).
    match = _SAID_CODE.match(text)
    if match is None:
        lowered = folded(text)
        if lowered is None:
            match = _SAID_CODE.search(text)
        else:
            at = lowered.find("said", 1)
            while match is None and at != -1:
                match = _SAID_CODE.match(text, at)
                at = lowered.find("said", at + 1)
    return match.group(1) if match else None


def smtp_command(text: str) -> str | None:
    """The SMTP command a failure happened at, when the layout names it."""
    lowered = folded(text)  # once for the four look-ups, each tried where its words start
    for pattern, command in _COMMAND:
        if literal_search(pattern, text, lowered):
            return command
    return None


def with_sentence_reason(facts: BounceFacts, table: Iterable[Sentence]) -> BounceFacts:
    """Add the reason one of the family's own sentences states (first match in table order)."""
    sentence = first_sentence(table, facts.diagnostic)
    if sentence is None:
        return facts
    if sentence.decisive or classify_reason(facts) in _VAGUE:
        return facts.amended(reason_hint=sentence.reason)
    return facts


def first_sentence(table: Iterable[Sentence], text: str) -> Sentence | None:
    """``next((s for s in table if s.pattern.search(text)), None)``, each case-insensitive
    regex tried only when a literal every match of it holds is in the text lower-cased
    (``regex_literals.required_literals``): a qmail table holds ~25 sentences, and a
    case-insensitive scan costs far more than ``in`` (issue 3, round 3 profile). The
    families' tables are module tuples; any other iterable is searched in turn."""
    if type(table) is not tuple:
        return next((s for s in table if s.pattern.search(text)), None)
    entry = _first_of.get(id(table))
    if entry is None or entry[0] is not table:
        entry = _first_of[id(table)] = (table, _first_function(table))
    index: int = entry[1](text, folded(text))
    return table[index] if index >= 0 else None


# Per table (kept alive in its entry, so its id stays its own): its ``first`` function.
_first_of: dict[int, tuple[tuple[Sentence, ...], Callable[[str, str | None], int]]] = {}


def _first_function(table: tuple[Sentence, ...]) -> Callable[[str, str | None], int]:
    """``first(text, lowered)``: the index of the first sentence found, -1 if none.
    ``lowered`` is ``folded(text)``; None (no exact lower-cased form) tries every regex."""
    lines = ["def first(text, lowered):"]
    lines.append("    if lowered is None:")
    lines.append("        return next((i for i, p in enumerate(patterns) if p.search(text)), -1)")
    for index, sentence in enumerate(table):
        pattern = sentence.pattern
        literals = required_literals(pattern) if pattern.flags & re.IGNORECASE else None
        test = f"p{index}.search(text)"
        if literals:
            present = " or ".join(f"{literal!r} in lowered" for literal in literals)
            test = f"({present}) and {test}"
        lines.append(f"    if {test}:")
        lines.append(f"        return {index}")
    lines.append("    return -1")
    namespace: dict[str, object] = {f"p{i}": s.pattern for i, s in enumerate(table)}
    namespace["patterns"] = tuple(s.pattern for s in table)
    return generated_function(lines, "first", namespace, "<family sentences>")


def block_facts(
    blocks: Iterable[tuple[str, str]],
    table: Iterable[Sentence] = (),
    *,
    reporting_mta: str | None = None,
    action: str | None = "failed",
) -> list[BounceFacts]:
    """Facts for each block: codes from the text, the command, then the family's sentences."""
    rows = tuple(table)
    found: list[BounceFacts] = []
    for recipient, detail in blocks:
        facts = make_facts(
            recipient,
            detail,
            action=action,
            replycode=said_code(detail),
            reporting_mta=reporting_mta,
            smtp_command=smtp_command(detail),
        )
        found.append(with_sentence_reason(facts, rows))
    return found


_HEADER_TO = lazy_compile(r"^To:[ \t]*(.*(?:\n[ \t]+.*)*)", re.IGNORECASE | re.MULTILINE)
_ADDRESS = lazy_compile(r"[\w.!#$%&'*+/=?^`{|}~-]+@[\w-]+(?:\.[\w-]+)+", re.ASCII)


def original_recipients(text: str) -> list[str]:
    """The addresses of the ``To:`` header of a returned message given as text."""
    match = _HEADER_TO.search(text)
    if match is None:
        return []
    return [a.lower() for a in dict.fromkeys(_ADDRESS.findall(match.group(1)))]


_ORIGINAL_TYPES = frozenset({"message/rfc822", "text/rfc822-headers", "message/partial"})


def leaf_texts(mail: Mail) -> str:
    """Every text/plain-ish leaf outside the returned original, joined (badly typed parts too)."""
    texts: list[str] = []
    stack = [mail.msg]
    while stack:
        part = stack.pop()  # depth first, in document order: the parts pushed reversed
        kind = part.get_content_type()
        if kind in _ORIGINAL_TYPES:
            continue
        # ``get_payload()`` is ``_payload`` for a multipart (a list), never a list otherwise;
        # the main type is the content type's part before its one "/" (round 5: the calls
        # cost most of this function, asked of most bounces by the x1 detector).
        payload = part._payload  # type: ignore[attr-defined]
        if isinstance(payload, list):
            stack.extend(reversed([p for p in payload if not isinstance(p, str)]))
        elif kind.startswith("text/") and kind != "text/html":
            texts.append(mail.part_text(part))  # decoded once per message
    return "\n".join(texts)


def report_field(mail: Mail, name: str) -> dict[str, str]:
    """recipient -> an extension field of its delivery-status group (``X-PowerMTA-...``)."""
    found: dict[str, str] = {}
    # ``delivery_status_parts(mail.msg)``, from the parts listed once per message.
    for part in (part for part, kind in mail.parts() if kind in _DSN_TYPES):
        payload = part.get_payload()
        groups = (
            [dict(g.items()) for g in payload if isinstance(g, Message)]
            if isinstance(payload, list)
            else [_text_group(g) for g in part_text(part).split("\n\n")]
        )
        for group in groups:
            fields = {k.lower(): str(v) for k, v in group.items()}
            recipient = clean_address(fields.get("final-recipient", ""))
            if recipient and name.lower() in fields:
                found.setdefault(recipient.lower(), fields[name.lower()].strip())
    return found


def _text_group(text: str) -> dict[str, str]:
    """``Field: value`` lines of one group given as text (continuations folded)."""
    fields: dict[str, str] = {}
    last = ""
    for line in text.split("\n"):
        if line[:1] in (" ", "\t") and last:
            fields[last] += " " + line.strip()
        elif ":" in line:
            last, _, value = line.partition(":")
            fields[last] = value.strip()
    return fields


_INLINE_GROUP = lazy_compile(
    r"^Final-Recipient:[ \t]*rfc822;[ \t]*<?([^\s<>]+@[^\s<>]+?)>?[ \t]*\n"
    r"((?:[\w-]+:.*\n(?:[ \t].*\n)*)*)",
    re.IGNORECASE | re.MULTILINE,
)
_INLINE_STATUS = lazy_compile(r"^Status:[ \t]*([245]\.\d{1,3}\.\d{1,3})\b", re.I | re.M)


def inline_statuses(text: str) -> dict[str, str]:
    """recipient -> ``Status:`` of report groups found in a text (a MIME boundary that does
    not match its declaration leaves the whole report as one text)."""
    found: dict[str, str] = {}
    for group in _INLINE_GROUP.finditer(text + "\n"):
        status = _INLINE_STATUS.search(group.group(0))
        if status:
            found.setdefault(group.group(1).lower(), status.group(1))
    return found


def jis_decoded(text: str) -> str:
    """ISO-2022-JP text left undecoded (no charset declared) made readable.

    Japanese MTAs (Notes, carriers) often send 7-bit JIS without a charset parameter: the
    escape sequences survive as ASCII, so the text decodes once re-read as ISO-2022-JP.
    """
    if "\x1b$" not in text:
        return text
    try:
        return text.encode("ascii").decode("iso-2022-jp")
    except (UnicodeEncodeError, UnicodeDecodeError):
        return text
