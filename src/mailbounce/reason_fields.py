"""The fields a reason decides beside itself (DESIGN §4, TAXONOMY.md): whether the address
itself is bad (``is_hardbounce``), whether a retry may succeed (``kind_of``) and who must act
(``party_of``). ``mailbounce.classify`` names the reason; these follow from it, each in
exactly one function.
"""

from __future__ import annotations

from mailbounce.models import Kind, Party, Reason

__all__ = ["is_hardbounce", "kind_of", "party_of"]

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


# Members read once: ``Reason.X`` goes through ``EnumType.__getattr__``'s hook on every read
# under Python 3.11, and these are asked for every record (session 7).
_NOTACCEPT, _FEEDBACK, _VACATION, _DELIVERED = (
    Reason.NOTACCEPT,
    Reason.FEEDBACK,
    Reason.VACATION,
    Reason.DELIVERED,
)
_COMPLAINT, _AUTOREPLY, _KIND_DELIVERED = Kind.COMPLAINT, Kind.AUTOREPLY, Kind.DELIVERED
_TEMPORARY, _PERMANENT, _UNKNOWN_PARTY = Kind.TEMPORARY, Kind.PERMANENT, Party.UNKNOWN


def is_hardbounce(reason: Reason, status: str | None, replycode: str | None) -> bool:
    """The address itself is bad: userunknown, hostunknown, hasmoved, and notaccept with 5xx."""
    if reason in _HARD:
        return True
    if reason is _NOTACCEPT:
        # Null MX (RFC 7505) is permanent by definition: hard unless the code says 4xx.
        return _status_class(status, replycode) != "4"
    return False


def kind_of(reason: Reason, status: str | None, replycode: str | None, action: str | None) -> Kind:
    """Temporary when a retry of the same mail may succeed, else permanent (DESIGN §4)."""
    if reason is _FEEDBACK:
        return _COMPLAINT
    if reason is _VACATION:
        return _AUTOREPLY
    if reason is _DELIVERED:
        return _KIND_DELIVERED
    if _is_delayed(action) or _status_class(status, replycode) == "4":
        return _TEMPORARY
    if reason in _TEMPORARY_REASONS:
        return _TEMPORARY
    return _PERMANENT


def party_of(reason: Reason) -> Party:
    """Who must act: the recipient, the sender, the content, the remote side, or unknown."""
    return _PARTY.get(reason, _UNKNOWN_PARTY)


def _is_delayed(action: str | None) -> bool:
    """Whether the DSN action says the mail is still being retried (RFC 3464 ``delayed``)."""
    return (action or "").strip().lower() == "delayed"


def _status_class(status: str | None, replycode: str | None) -> str | None:
    """The class ("2", "4" or "5") of the enhanced status, else of the reply code, or None."""
    if status and status[0] in "245":
        return status[0]
    if replycode and replycode[0] in "245":
        return replycode[0]
    return None
