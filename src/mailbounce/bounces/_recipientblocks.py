"""Recipient blocks of a report's text, for the last-resort scan (``fallback``) and for the
words ``analyse_message`` gives records a specific detector found without any.

The report's own text is split into recipient blocks: a line naming a new address opens one,
and it runs to the end of its paragraph, taking up to three following paragraphs while it has
no code or reason words (the "address:" line, then the server's words). A block with evidence
(a reply code, an RFC 3463 status, a failure or taxonomy phrase) is a recipient's text.
"""

from __future__ import annotations

import re
from collections.abc import Collection

from mailbounce.bounces._prefilter import folded
from mailbounce.lazy_patterns import lazy_compile
from mailbounce.reason_tables import tables
from mailbounce.regex_literals import found

# The look-behind starts a match only where a local part starts: linear on long runs of
# local-part characters (a hostile line cannot make the scan quadratic).
ADDRESS = lazy_compile(
    r"(?<![\w.!#$%&'*+/=?^`{|}~-])[\w.!#$%&'*+/=?^`{|}~-]+@[\w-]+(?:\.[\w-]+)+", re.ASCII
)
_HEADER_LINE = lazy_compile(
    r"^(from|to|cc|subject|date|reply-to|return-path|message-id|received|sender|"
    r"content-[\w-]+|mime-version|x-[\w-]+|reporting-mta|arrival-date):",
    re.I,
)
# The look-behind after the first character (the same test: the character before it) lets
# the regex engine skip to the digits a code starts with (a leading look-behind tries every
# position: 3x slower on a diagnostic, issue 3 round 3).
_CODES = lazy_compile(
    r"[245](?<![\d.][245])\.\d{1,3}\.\d{1,3}(?![\d.])|[45](?<![\w.-][45])[0-5]\d(?=[ -]|$)"
)
_EVIDENCE = lazy_compile(
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
# The same words for a text lower-cased (``_failure_words``).
_EVIDENCE_WORDS = lazy_compile(_EVIDENCE.pattern)
# The envelope sender named in a summary ("MAIL FROM: x", "Original Sender: x") or sent in
# a session transcript (">>> MAIL From:<x>", Postfix's " In:  MAIL FROM:<x>") is not a
# recipient.
_SENDER_LINE = lazy_compile(
    r"^[\s>]*(?:in:\s*)?(mail from|envelope[- ]from|original sender|sender|from)\s*:", re.I
)
PARAGRAPH = lazy_compile(r"\n[ \t]*\n")


def is_service_address(address: str) -> bool:
    local = address.split("@", 1)[0].lower()
    return local in ("mailer-daemon", "postmaster", "root", "noreply", "no-reply")


def has_evidence(text: str) -> bool:
    """A reply code, a status, or words of failure (those of the reason taxonomy included)."""
    return _failure_words(text) or strong_evidence(text)


def _failure_words(text: str) -> bool:
    """``_EVIDENCE.search(text) is not None``: its lower-case words (``_EVIDENCE_WORDS``)
    looked up where they are (``regex_literals.found``) in the text lower-cased, when that
    folds as ``re.IGNORECASE`` does (``folded``). The case-insensitive scan tried its sixty
    alternatives at every position (round 5: ~2 ms for a report of four recipients)."""
    lowered = folded(text)
    if lowered is None:
        return _EVIDENCE.search(text) is not None
    return found(_EVIDENCE_WORDS, lowered)


def strong_evidence(text: str) -> bool:
    """A reply code, an enhanced status, or words that name a reason of the taxonomy."""
    if _CODES.search(text):
        return True
    lower = text.lower()
    # The reason phrase groups (``reason_rules.PHRASES``) asked as classification asks them:
    # one scan finds every literal of theirs the text holds, and each group's alternatives
    # are searched only when one of their literals is there. The tables are classification's
    # own, built once a run: a finder of each group built here as well cost ~16-47 ms of
    # CPU at each run's first report with a bare record (issue 3, session 9).
    phrase_tables = tables()
    present = phrase_tables.scan.present(lower)
    return bool(present) and any(
        found_in(lower, present) for found_in in phrase_tables.phrase.values()
    )


def recipient_blocks(
    text: str, own: set[str], known: Collection[str] = (), *, reasons_above: bool = True
) -> list[tuple[str, str]]:
    """(address, its text) per recipient named in the report's text, in order.

    A block starts at a line naming a new address and runs to the end of its paragraph; a
    block without evidence takes the next paragraph when that one names no address (the
    "address:" line, then the server's words, as DragonFly, qmail and Yahoo write them).
    With ``reasons_above``, a block without evidence takes its paragraph's lines above it.
    """
    paragraphs = [p for p in PARAGRAPH.split(text) if p.strip()]
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
_SESSION = lazy_compile(r"^\s*\.\.\. while talking to ", re.I)


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
        named = [a for a in _addresses(line) if a.lower() in known or is_candidate(a, own, line)]
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
    return any(is_candidate(a, own, "") for a in _addresses(text))


def _addresses(text: str) -> list[str]:
    """``ADDRESS.findall(text)``; none without an "@" (most lines of a report: the scan,
    whose look-behind is tried at every position, is skipped, issue 3 round 3)."""
    return ADDRESS.findall(text) if "@" in text else []


def is_candidate(address: str, own: set[str], line: str) -> bool:
    """Not the report's own addresses; a postmaster address only alone on its line (the
    failed recipient itself, not "write to postmaster@...")."""
    if address.lower() in own:
        return False
    return not is_service_address(address) or line.strip().strip("<>") == address


def recipient_texts(
    text: str, own: set[str], only: dict[str, str] | None = None, *, reasons_above: bool = True
) -> dict[str, tuple[str, str]]:
    """Per recipient (lower-cased key): its address and all its blocks with evidence, those
    naming a code or a reason first (Exchange repeats the address with the server's reply)."""
    # Per recipient: its address, its blocks (strong ones first), how many are strong. Each
    # block's evidence is read once (``has_evidence`` is failure words or strong evidence).
    blocks: dict[str, tuple[str, list[str], list[int]]] = {}
    for address, block in recipient_blocks(text, own, only or (), reasons_above=reasons_above):
        key = address.lower()
        if only and key not in only:
            continue
        strong = strong_evidence(block)
        if not (strong or _failure_words(block) or only):
            continue
        entry = blocks.setdefault(key, (address, [], [0]))
        if strong:
            entry[1].insert(entry[2][0], block)
            entry[2][0] += 1
        else:
            entry[1].append(block)
    return {key: (address, " ".join(parts)) for key, (address, parts, _) in blocks.items()}
