"""The reason taxonomy (DESIGN §4, TAXONOMY.md): facts -> reason, kind, hardbounce, party.

Used both for bounce mail (``mailbounce.bounces``) and for SMTP replies met while sending
(``mailbounce.smtp``), so the two always agree. Each derived field is decided in exactly one
function: ``classify_reason``, ``is_hardbounce``, ``kind_of``, ``party_of``.
"""

from __future__ import annotations

import re

from mailbounce.models import BounceFacts, Classification, Kind, Party, Reason

_ENHANCED = re.compile(r"\b([245])\.(\d{1,3})\.(\d{1,3})\b")
_REPLY = re.compile(r"^\s*([245]\d\d)\b")

_HARD = frozenset({Reason.USERUNKNOWN, Reason.HOSTUNKNOWN, Reason.HASMOVED})

_TEMPORARY_REASONS = frozenset(
    {
        Reason.MAILBOXFULL,
        Reason.SYSTEMFULL,
        Reason.MESGTOOBIG,
        Reason.EXCEEDLIMIT,
        Reason.GREYLISTED,
        Reason.SPEEDING,
        Reason.TOOMANYCONN,
        Reason.NETWORKERROR,
        Reason.SYSTEMERROR,
        Reason.EXPIRED,
    }
)

_PARTY = {
    Reason.USERUNKNOWN: Party.RECIPIENT,
    Reason.HOSTUNKNOWN: Party.RECIPIENT,
    Reason.HASMOVED: Party.RECIPIENT,
    Reason.NOTACCEPT: Party.RECIPIENT,
    Reason.MAILBOXFULL: Party.RECIPIENT,
    Reason.SUSPEND: Party.RECIPIENT,
    Reason.BLOCKED: Party.SENDER,
    Reason.BADREPUTATION: Party.SENDER,
    Reason.REQUIREPTR: Party.SENDER,
    Reason.AUTHFAILURE: Party.SENDER,
    Reason.REJECTED: Party.SENDER,
    Reason.NORELAYING: Party.SENDER,
    Reason.SECURITYERROR: Party.SENDER,
    Reason.SPEEDING: Party.SENDER,
    Reason.TOOMANYCONN: Party.SENDER,
    Reason.SYNTAXERROR: Party.SENDER,
    Reason.SPAMDETECTED: Party.CONTENT,
    Reason.VIRUSDETECTED: Party.CONTENT,
    Reason.POLICYVIOLATION: Party.CONTENT,
    Reason.CONTENTERROR: Party.CONTENT,
    Reason.NOTCOMPLIANTRFC: Party.CONTENT,
    Reason.FILTERED: Party.CONTENT,
    Reason.MESGTOOBIG: Party.CONTENT,
    Reason.EXCEEDLIMIT: Party.CONTENT,
    Reason.SYSTEMERROR: Party.REMOTE,
    Reason.SYSTEMFULL: Party.REMOTE,
    Reason.NETWORKERROR: Party.REMOTE,
    Reason.EXPIRED: Party.REMOTE,
    Reason.GREYLISTED: Party.REMOTE,
}


def find_enhanced_status(text: str) -> str | None:
    """The first RFC 3463 enhanced status code in ``text`` (e.g. ``5.1.1``), or None."""
    match = _ENHANCED.search(text)
    return match.group(0) if match else None


def find_reply_code(text: str) -> str | None:
    """The SMTP reply code that starts ``text`` (e.g. ``550``), or None."""
    match = _REPLY.match(text)
    return match.group(1) if match else None


# Status -> reason where the code alone decides (RFC 3463 subjects; TAXONOMY.md table).
_STATUS_REASON = {
    "1.1": Reason.USERUNKNOWN,
    "1.0": Reason.USERUNKNOWN,
    "1.3": Reason.USERUNKNOWN,
    "1.2": Reason.HOSTUNKNOWN,
    "4.4": Reason.HOSTUNKNOWN,
    "1.6": Reason.HASMOVED,
    "1.10": Reason.NOTACCEPT,
    "3.2": Reason.NOTACCEPT,
    "2.2": Reason.MAILBOXFULL,
    "3.4": Reason.MESGTOOBIG,
    "2.3": Reason.EXCEEDLIMIT,
    "1.7": Reason.REJECTED,
    "1.8": Reason.REJECTED,
    "7.25": Reason.REQUIREPTR,
    "7.26": Reason.AUTHFAILURE,
    "3.1": Reason.SYSTEMFULL,
    "3.0": Reason.SYSTEMERROR,
    "3.5": Reason.SYSTEMERROR,
    "4.6": Reason.SYSTEMERROR,
    "4.7": Reason.EXPIRED,
    "5.3": Reason.TOOMANYCONN,
}

# Phrases checked in order; the first that matches names the reason.
_PHRASES: tuple[tuple[Reason, re.Pattern[str]], ...] = tuple(
    (reason, re.compile(pattern, re.IGNORECASE))
    for reason, pattern in (
        (Reason.GREYLISTED, r"grey ?list|gray ?list|try again later|temporarily deferred"),
        (Reason.MAILBOXFULL, r"mailbox (is )?full|over ?quota|quota exceeded|bo[iî]te pleine"),
        (Reason.SPAMDETECTED, r"\bspam\b|unsolicited|\bUCE\b"),
        (Reason.BADREPUTATION, r"reputation"),
        (Reason.BLOCKED, r"blocked|block ?list|black ?list|\bRBL\b|client host rejected"),
        (Reason.NORELAYING, r"relay(ing)? (access )?(denied|not permitted)"),
        (Reason.SPEEDING, r"too many messages|rate limit|slow down"),
        (Reason.TOOMANYCONN, r"too many connections"),
        (Reason.USERUNKNOWN, r"user unknown|no such user|unknown user|mailbox unavailable"),
        (Reason.HOSTUNKNOWN, r"host not found|domain not found|host unknown"),
        (Reason.POLICYVIOLATION, r"policy"),
    )
)


def classify_reason(facts: BounceFacts) -> Reason:
    """Name the reason from the facts, in the order of evidence of TAXONOMY.md."""
    if facts.reason_hint is not None:
        return facts.reason_hint
    text = facts.diagnostic
    status = find_enhanced_status(text) or facts.status
    for reason, pattern in _PHRASES:
        if pattern.search(text):
            return reason
    if status:
        subject_detail = status.split(".", 1)[1]
        if subject_detail in _STATUS_REASON:
            return _STATUS_REASON[subject_detail]
        if subject_detail.startswith("6."):
            return Reason.CONTENTERROR
        if subject_detail.startswith("7."):
            return Reason.SECURITYERROR
    code = facts.replycode or find_reply_code(text)
    if code and code.startswith("50"):
        return Reason.SYNTAXERROR
    if (facts.action or "").lower() == "delayed":
        return Reason.EXPIRED
    return Reason.ONHOLD if text.strip() else Reason.UNDEFINED


def is_hardbounce(reason: Reason, status: str | None, replycode: str | None) -> bool:
    """The address itself is bad: userunknown, hostunknown, hasmoved, and notaccept with 5xx."""
    if reason in _HARD:
        return True
    if reason is Reason.NOTACCEPT:
        return _status_class(status, replycode) == "5"
    return False


def kind_of(reason: Reason, status: str | None, replycode: str | None, action: str | None) -> Kind:
    """Temporary when a retry of the same mail may succeed, else permanent (DESIGN §4)."""
    if reason is Reason.FEEDBACK:
        return Kind.COMPLAINT
    if reason is Reason.VACATION:
        return Kind.AUTOREPLY
    if reason is Reason.DELIVERED:
        return Kind.DELIVERED
    if (action or "").strip().lower() == "delayed" or _status_class(status, replycode) == "4":
        return Kind.TEMPORARY
    if reason in _TEMPORARY_REASONS:
        return Kind.TEMPORARY
    return Kind.PERMANENT


def party_of(reason: Reason) -> Party:
    """Who must act: the recipient, the sender, the content, the remote side, or unknown."""
    return _PARTY.get(reason, Party.UNKNOWN)


def classify(facts: BounceFacts) -> Classification:
    """The whole classification of one recipient's facts."""
    reason = classify_reason(facts)
    return Classification(
        reason=reason,
        kind=kind_of(reason, facts.status, facts.replycode, facts.action),
        hardbounce=is_hardbounce(reason, facts.status, facts.replycode),
        party=party_of(reason),
    )


def classify_smtp_reply(code: int, text: str, recipient: str = "") -> Classification:
    """Classify a reply met while sending (``550 5.1.1 User unknown`` at RCPT, ``451`` ...)."""
    status = find_enhanced_status(text)
    if status is not None and status[0] != str(code)[0]:
        status = None  # an enhanced code must agree with the reply's class (RFC 3463 §2)
    facts = BounceFacts(
        recipient=recipient,
        action="delayed" if 400 <= code < 500 else "failed",
        status=status,
        replycode=str(code),
        diagnostic=f"{code} {text}".strip(),
    )
    return classify(facts)


def _status_class(status: str | None, replycode: str | None) -> str | None:
    if status and status[0] in "245":
        return status[0]
    if replycode and replycode[0] in "245":
        return replycode[0]
    return None
