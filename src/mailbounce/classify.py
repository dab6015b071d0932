"""The reason taxonomy (DESIGN §4, TAXONOMY.md): facts -> reason, kind, hardbounce, party.

Used both for bounce mail (``mailbounce.bounces``) and for SMTP replies met while sending
(``mailbounce.smtp``), so the two always agree. Each derived field is decided in exactly one
function: ``classify_reason`` here, ``is_hardbounce``, ``kind_of``, ``party_of`` in
``mailbounce.reason_fields`` (importable from here too).
"""

from __future__ import annotations

import functools

from mailbounce.diagnostic_text import find_enhanced_status, find_reply_code
from mailbounce.diagnostic_text import normalise as _normalise
from mailbounce.models import BounceFacts, Classification, Reason
from mailbounce.reason_fields import is_hardbounce, kind_of, party_of
from mailbounce.reason_providers import provider_reason
from mailbounce.reason_rules import (
    FIRST_ORDER,
    GREYLISTING_STATUSES,
    NOT_USERUNKNOWN,
    STAGES,
    STATUS_REASON,
)
from mailbounce.reason_tables import BIT as _BIT
from mailbounce.reason_tables import FIRST_BIT as _FIRST_BIT
from mailbounce.reason_tables import FIRST_BITS as _FIRST_BITS
from mailbounce.reason_tables import SECOND_BITS as _SECOND_BITS
from mailbounce.reason_tables import TABLES as _TABLES
from mailbounce.reason_tables import PhraseTables as _Tables
from mailbounce.reason_tables import tables as _tables
from mailbounce.regex_literals import found, required_literals

__all__ = [
    "classify",
    "classify_reason",
    "classify_smtp_reply",
    "command_in",
    "find_enhanced_status",
    "find_reply_code",
    "is_hardbounce",
    "kind_of",
    "party_of",
    "status_reason",
]

_MAX_TEXT = 4000  # the words that decide are at the start; bounds the phrase scans
_DELIVERED_ACTIONS = frozenset({"delivered", "relayed", "expanded"})
_HOST_STAGE_OVERRIDES = frozenset({Reason.REJECTED, Reason.USERUNKNOWN, Reason.FILTERED})
# Members read here once: ``Reason.X`` goes through ``EnumType.__getattr__``'s hook on every
# read under Python 3.11 (session 7 callgrind: ~4% of classification).
_USERUNKNOWN, _FILTERED, _SUSPEND = Reason.USERUNKNOWN, Reason.FILTERED, Reason.SUSPEND
_MAILERERROR = Reason.MAILERERROR  # its phrases are ``MAILER_ERROR``
_MAILERERROR_BIT = _BIT[_MAILERERROR]
_NETWORKERROR, _HOSTUNKNOWN, _EXCEEDLIMIT = (
    Reason.NETWORKERROR,
    Reason.HOSTUNKNOWN,
    Reason.EXCEEDLIMIT,
)


def classify_reason(facts: BounceFacts) -> Reason:
    """Name the reason from the facts, in the order of evidence of TAXONOMY.md.

    A detector's provider-specific hint first; then success; then provider texts; then, per
    reason in ``FIRST_ORDER``, the status code or its phrases; then the SMTP stage; then the
    status alone; then the remaining phrase groups; then fallbacks by status class.
    """
    if facts.reason_hint is not None:
        return facts.reason_hint
    action = (facts.action or "").strip().lower()
    status = facts.status or ""
    if status.startswith("2.") or action in _DELIVERED_ACTIONS:
        return Reason.DELIVERED
    text = _normalise(facts.diagnostic[:_MAX_TEXT])
    tables = _TABLES[0] if _TABLES else _tables()
    present = tables.scan.present(text)  # every literal asked below, found in one pass
    groups = 0  # the phrase groups (bits of ``_Tables.bits``) one of whose literals is there
    bits = tables.bits
    for literal in present:
        groups |= bits[literal]
    if (facts.diagnostic_type or "").lower() == "x-unix" or (
        groups & _MAILERERROR_BIT and tables.phrase[_MAILERERROR](text, present)
    ):
        # The local delivery program (pipe, procmail) failed, unless it says the disk is full.
        full = _phrase(Reason.MAILBOXFULL, text, present, groups)
        return Reason.MAILBOXFULL if full else Reason.MAILERERROR
    code = facts.replycode or find_reply_code(text) or ""
    temporary = status.startswith("4") or code.startswith("4") or action == "delayed"
    command = (facts.smtp_command or _command_in(text, present, tables) or "").upper()
    reason = provider_reason(text, status, _hosts(facts), present) or (
        _greylisting(text, status, code, present, groups, tables) if temporary else None
    )
    if reason is None:
        by_status = _status_reason(status)
        reason = (
            _stage(_first_order(text, by_status, command, present, groups, tables), command)
            or (
                _delayed(text, status, by_status, present, groups, tables)
                if action == "delayed"
                else None
            )
            or _by_status(status, by_status)
            or _second_order(text, present, groups, tables)
            or (Reason.REJECTED if command == "MAIL" else None)
            or _fallback(text, status, code)
        )
    if reason is _HOSTUNKNOWN and (temporary or _phrase(_NETWORKERROR, text, present, groups)):
        return Reason.NETWORKERROR  # a DNS failure, not a non-existent domain
    return reason


def status_reason(status: str | None) -> Reason | None:
    """The reason an RFC 3463 code alone names (``5.1.1`` -> userunknown), or None."""
    if not status or status.count(".") != 2:
        return None
    detail = status.split(".", 1)[1]
    reason = STATUS_REASON.get(status) or STATUS_REASON.get(detail)
    if reason is None and detail.startswith("1.") and len(detail) > 4 and status[0] == "5":
        return Reason.USERUNKNOWN  # vendor details of the addressing subject (5.1.351 ...)
    return reason


# ``status_reason`` of the status codes met, remembered: a few dozen codes in a run, and the
# look-up costs less than reading one (a frame, a split, two look-ups); bounded for hostile
# mail with ever new codes.
_status_reason = functools.lru_cache(maxsize=1024)(status_reason)


def _stage_words() -> tuple[str, ...]:
    """Literals one of which every stage pattern's match holds (those holding another one
    left out); ("",) when a pattern's literals are not read (then every text is scanned)."""
    words: list[str] = []
    for pattern, _ in STAGES:
        literals = required_literals(pattern)
        if literals is None:
            return ("",)
        words.extend(literals)
    return tuple(w for w in dict.fromkeys(words) if not any(o != w and o in w for o in words))


_STAGE_WORDS = _stage_words()  # "in reply to ", "after "...: most diagnostics hold none


def command_in(text: str) -> str | None:
    """The SMTP stage a diagnostic names ("in reply to RCPT TO", "after end of data")."""
    for word in _STAGE_WORDS:
        if word in text:
            break
    else:
        return None
    for pattern, command in STAGES:
        if found(pattern, text):
            return command
    return None


def _command_in(text: str, present: set[str], tables: _Tables) -> str | None:
    """``command_in`` given the literals ``text`` holds."""
    if tables.stage_literals.isdisjoint(present):
        return None
    for found_in, command in tables.stages:
        if found_in(text, present):
            return command
    return None


def _greylisting(
    text: str, status: str, code: str, present: set[str], groups: int, tables: _Tables
) -> Reason | None:
    """Greylisting, for a temporary refusal: its word, or "try again later" with its codes."""
    phrase = tables.phrase
    if groups & _BIT[Reason.BADREPUTATION] and phrase[Reason.BADREPUTATION](text, present):
        return None
    if groups & _BIT[Reason.SPEEDING] and phrase[Reason.SPEEDING](text, present):
        return None  # "rate limited, try again later" is a sending-rate limit
    if tables.greylisting(text, present):
        return Reason.GREYLISTED
    if (
        code in ("450", "451")
        and status in GREYLISTING_STATUSES
        and tables.retry_later(text, present)
    ):
        return Reason.GREYLISTED
    return None


def _phrase(reason: Reason, text: str, present: set[str], groups: int) -> bool:
    """Whether ``reason``'s phrases are in ``text`` (``present``: the literals it holds,
    ``groups``: the bits of the phrase groups one of whose literals is there)."""
    return bool(groups & _BIT[reason]) and bool(text) and _TABLES[0].phrase[reason](text, present)


def _first_order(
    text: str,
    by_status: Reason | None,
    command: str,
    present: set[str],
    groups: int,
    tables: _Tables,
) -> Reason | None:
    """Each reason in order: its status code (with the exceptions of ``_holds``) or its
    phrases. The phrases alone are tested here, not in a call: most reasons get there, and
    most texts hold none of their words. A 5.1.1 is overridden only by the phrases of
    ``NOT_USERUNKNOWN``; an "exceeded limit" status is never a too-big message by phrases.
    Only the steps that can hold are walked: the status's (``by_status``: the reason the
    status code names) and those one of whose literals the text holds (``groups``; filtered
    also for unknown-user words).
    """
    plain_phrases = by_status is not _USERUNKNOWN  # else only the overriding ones
    too_big = by_status is not _EXCEEDLIMIT  # else not MESGTOOBIG by its phrases
    key = (groups & _FIRST_BITS) | _FIRST_BIT.get(by_status, 0)
    steps = tables.first_steps.get(key)
    if steps is None:  # (an empty tuple is a made entry: no step can hold)
        steps = tables.first_steps_of(key)
    for reason, find, overrides, decided, mesgtoobig in steps:
        if reason is by_status or decided:
            if _holds(reason, text, by_status, command, present, groups):
                return reason
        elif (
            (plain_phrases or overrides)
            and (too_big or not mesgtoobig)
            and text
            and find(text, present)
        ):
            return reason
    return None


def _holds(
    reason: Reason,
    text: str,
    by_status: Reason | None,
    command: str,
    present: set[str],
    groups: int,
) -> bool:
    """Whether ``reason`` holds, for the reasons ``_first_order`` does not decide by its
    phrases alone: unknown user, filtered, and the reason the status code names."""
    if reason is _USERUNKNOWN:
        if by_status is _USERUNKNOWN:
            # "a 5.1.1 is userunknown unless the words say relaying, blocking, full or moved";
            # those tested before in ``FIRST_ORDER`` (full, moved, relaying) were not there.
            return not (
                groups & _OVERRIDING_LATER_BITS
                and any(_phrase(other, text, present, groups) for other in _OVERRIDING_LATER)
            )
        # Unknown-user words without a 5.1.x code count only as an answer to RCPT TO; after
        # DATA they come from a recipient-side filter (filtered below).
        return (
            command == "RCPT" and by_status is not _SUSPEND and _unknown_user(text, present, groups)
        )
    if reason is _FILTERED:
        words = _phrase(_FILTERED, text, present, groups) or _unknown_user(text, present, groups)
        if by_status is _FILTERED:
            return words
        return words and command not in ("RCPT", "MAIL")
    # The status code names it: unless a "host unknown" code comes with network words.
    return not (reason is _HOSTUNKNOWN and _phrase(_NETWORKERROR, text, present, groups))


# The reasons overriding a 5.1.1 that ``_first_order`` reaches after unknown user: it asked
# the others' phrases before getting there (with a 5.1.1 it asks only the overriding ones).
_OVERRIDING_LATER = tuple(
    reason
    for reason in NOT_USERUNKNOWN
    if reason not in FIRST_ORDER[: FIRST_ORDER.index(Reason.USERUNKNOWN)]
)


_OVERRIDING_LATER_BITS = sum(_BIT[reason] for reason in _OVERRIDING_LATER)


def _unknown_user(text: str, present: set[str], groups: int) -> bool:
    """Unknown-user words that are not about the sender ("domain of sender address ...")."""
    return _phrase(_USERUNKNOWN, text, present, groups) and not _phrase(
        Reason.REJECTED, text, present, groups
    )


def _stage(reason: Reason | None, command: str) -> Reason | None:
    """A refusal at connection or HELO is about the sending host; unknown-user words at MAIL
    FROM are about the sender (a MAIL FROM refusal nothing else explains: see the caller)."""
    if command in ("CONN", "HELO", "EHLO") and (reason is None or reason in _HOST_STAGE_OVERRIDES):
        return Reason.BLOCKED
    if command == "MAIL" and reason in (Reason.USERUNKNOWN, Reason.FILTERED):
        return Reason.REJECTED
    return reason


def _hosts(facts: BounceFacts) -> str:
    return f"{facts.remote_mta or ''} {facts.reporting_mta or ''}".lower()


def _delayed(
    text: str,
    status: str,
    by_status: Reason | None,
    present: set[str],
    groups: int,
    tables: _Tables,
) -> Reason:
    """A delay warning: its words, else a specific (non-routing) status, else expired."""
    specific = by_status if status[2:4] != "4." else None
    return _second_order(text, present, groups, tables) or specific or Reason.EXPIRED


def _by_status(status: str, by_status: Reason | None) -> Reason | None:
    """The reason the status names (``by_status``), or a content error for any X.6.X."""
    if by_status is None and status[1:4] == ".6.":
        return Reason.CONTENTERROR
    return by_status


def _second_order(text: str, present: set[str], groups: int, tables: _Tables) -> Reason | None:
    if not text or not groups & _SECOND_BITS:
        return None
    for reason, find in tables.second:
        if groups & _BIT[reason] and find(text, present):
            return reason
    return None


def _fallback(text: str, status: str, code: str) -> Reason:
    if status[1:3] == ".7":
        return Reason.SECURITYERROR
    if code[:2] == "50" and code != "500":
        return Reason.SYNTAXERROR
    return Reason.ONHOLD if text else Reason.UNDEFINED


# Each classification made once and shared (frozen), per reason and the codes that decide
# its other fields (status, reply code, action: ``reason_fields`` reads their class and
# whether the action says delayed): a few dozen met in a run, and the look-up costs less
# than deciding the fields (three calls) or making the frozen dataclass (session 9).
_MADE: dict[tuple[Reason, str | None, str | None, str | None], Classification] = {}


def classify(facts: BounceFacts) -> Classification:
    """The whole classification of one recipient's facts."""
    reason = classify_reason(facts)
    status, replycode, action = facts.status, facts.replycode, facts.action
    key = (reason, status, replycode, action)
    made = _MADE.get(key)
    if made is None:
        if len(_MADE) >= 4096:
            _MADE.clear()  # hostile mail with ever new codes must not grow it
        made = _MADE[key] = Classification(
            reason=reason,
            kind=kind_of(reason, status, replycode, action),
            hardbounce=is_hardbounce(reason, status, replycode),
            party=party_of(reason),
        )
    return made


def classify_smtp_reply(
    code: int, text: str, recipient: str = "", command: str = "RCPT"
) -> Classification:
    """Classify a reply met while sending (``550 5.1.1 User unknown`` at RCPT, ``451`` ...).

    ``command`` is the SMTP command answered; by default RCPT, where a server names unknown
    addresses to the sending client itself (not a later filter's relayed words).
    """
    status = find_enhanced_status(text)
    if status is not None and status[0] != str(code)[0]:
        status = None  # an enhanced code must agree with the reply's class (RFC 3463 §2)
    facts = BounceFacts(
        recipient=recipient,
        # "failed", not "delayed", even for 4xx: a delayed DSN means a relay kept retrying
        # (expired); a live 4xx reply is temporary through its code (``kind_of``).
        action="failed",
        status=status,
        replycode=str(code),
        diagnostic=f"{code} {text}".strip(),
        smtp_command=command,
    )
    return classify(facts)
