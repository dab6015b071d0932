"""Frozen dataclasses and StrEnums shared by every layer (DESIGN §3, §4, §5, §6)."""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from enum import StrEnum
from typing import Any


class Reason(StrEnum):
    """Why a mail was rejected: Sisimai's vocabulary plus ``greylisted`` (TAXONOMY.md)."""

    USERUNKNOWN = "userunknown"
    HOSTUNKNOWN = "hostunknown"
    HASMOVED = "hasmoved"
    NOTACCEPT = "notaccept"
    MAILBOXFULL = "mailboxfull"
    MESGTOOBIG = "mesgtoobig"
    EXCEEDLIMIT = "exceedlimit"
    SUSPEND = "suspend"
    FILTERED = "filtered"
    REJECTED = "rejected"
    BLOCKED = "blocked"
    BADREPUTATION = "badreputation"
    REQUIREPTR = "requireptr"
    AUTHFAILURE = "authfailure"
    SPAMDETECTED = "spamdetected"
    VIRUSDETECTED = "virusdetected"
    POLICYVIOLATION = "policyviolation"
    SECURITYERROR = "securityerror"
    CONTENTERROR = "contenterror"
    NOTCOMPLIANTRFC = "notcompliantrfc"
    NORELAYING = "norelaying"
    SPEEDING = "speeding"
    TOOMANYCONN = "toomanyconn"
    SYNTAXERROR = "syntaxerror"
    SYSTEMERROR = "systemerror"
    SYSTEMFULL = "systemfull"
    NETWORKERROR = "networkerror"
    EXPIRED = "expired"
    MAILERERROR = "mailererror"
    ONHOLD = "onhold"
    UNDEFINED = "undefined"
    DELIVERED = "delivered"
    FEEDBACK = "feedback"
    VACATION = "vacation"
    GREYLISTED = "greylisted"


class Kind(StrEnum):
    """Whether a retry of the same mail may succeed (DESIGN §4)."""

    TEMPORARY = "temporary"
    PERMANENT = "permanent"
    COMPLAINT = "complaint"
    AUTOREPLY = "autoreply"
    DELIVERED = "delivered"


class Party(StrEnum):
    """Who must act on a rejection (DESIGN §4)."""

    RECIPIENT = "recipient"
    SENDER = "sender"
    CONTENT = "content"
    REMOTE = "remote"
    UNKNOWN = "unknown"


class DeliveryState(StrEnum):
    """A recipient's place in a campaign's sending state machine (DESIGN §6)."""

    PENDING = "pending"
    CLAIMED = "claimed"
    IN_FLIGHT = "in_flight"
    SENT = "sent"
    DEFERRED = "deferred"
    FAILED = "failed"
    UNCERTAIN = "uncertain"
    SKIPPED = "skipped"
    EXPIRED = "expired"


class SuppressionCause(StrEnum):
    """Why an address is not mailed any more."""

    INVALID = "invalid"
    UNSUBSCRIBED = "unsubscribed"
    COMPLAINED = "complained"
    MANUAL = "manual"
    FORGOTTEN = "forgotten"


class SkipCause(StrEnum):
    """Why a list row is not sent to (counted in the send summary)."""

    NO_ADDRESS = "no_address"
    INVALID = "invalid"
    UNSUBSCRIBED = "unsubscribed"
    COMPLAINED = "complained"
    MANUAL = "manual"
    FORGOTTEN = "forgotten"
    DUPLICATE = "duplicate"


@dataclass(frozen=True, slots=True)
class Classification:
    """The reason taxonomy applied to one rejection: each field decided in one function."""

    reason: Reason
    kind: Kind
    hardbounce: bool
    party: Party

    def __init__(self, reason: Reason, kind: Kind, hardbounce: bool, party: Party) -> None:
        # As ``BounceFacts.__init__``: each field through its slot's setter (one per bounce).
        set_reason, set_kind, set_hardbounce, set_party = _CLASSIFICATION_SETTERS
        set_reason(self, reason)
        set_kind(self, kind)
        set_hardbounce(self, hardbounce)
        set_party(self, party)


_KEEP: Any = object()  # ``BounceFacts.amended``: "not given", the field keeps its value


@dataclass(frozen=True, slots=True)
class BounceFacts:
    """What a detector extracts for one recipient of a bounce, before classification.

    Detection extracts facts; classification names the reason (Sisimai's split).
    ``status`` is the RFC 3463 code as found, never invented; ``replycode`` the SMTP code.
    ``reason_hint`` lets a detector that knows its provider's wording name the reason
    directly (TAXONOMY "provider texts decide first"); classify still owns the decision.
    """

    recipient: str
    action: str | None = None
    status: str | None = None
    replycode: str | None = None
    diagnostic: str = ""
    remote_mta: str | None = None
    reporting_mta: str | None = None
    feedback_type: str | None = None
    reason_hint: Reason | None = None
    smtp_command: str | None = None
    diagnostic_type: str | None = None  # RFC 3464 diagnostic type: "smtp", "x-unix", ...

    def __init__(
        self,
        recipient: str,
        action: str | None = None,
        status: str | None = None,
        replycode: str | None = None,
        diagnostic: str = "",
        remote_mta: str | None = None,
        reporting_mta: str | None = None,
        feedback_type: str | None = None,
        reason_hint: Reason | None = None,
        smtp_command: str | None = None,
        diagnostic_type: str | None = None,
    ) -> None:
        # The dataclass's ``__init__`` (``@dataclass`` keeps one defined here; same fields,
        # order and defaults: a test compares them), each field stored through its slot's
        # own setter: the generated one calls ``object.__setattr__`` per field (frozen), which
        # looks the name up on the type each time (~20 k instructions a record, ~13 k so).
        (
            set_recipient,
            set_action,
            set_status,
            set_replycode,
            set_diagnostic,
            set_remote_mta,
            set_reporting_mta,
            set_feedback_type,
            set_reason_hint,
            set_smtp_command,
            set_diagnostic_type,
        ) = _BOUNCE_FACTS_SETTERS
        set_recipient(self, recipient)
        set_action(self, action)
        set_status(self, status)
        set_replycode(self, replycode)
        set_diagnostic(self, diagnostic)
        set_remote_mta(self, remote_mta)
        set_reporting_mta(self, reporting_mta)
        set_feedback_type(self, feedback_type)
        set_reason_hint(self, reason_hint)
        set_smtp_command(self, smtp_command)
        set_diagnostic_type(self, diagnostic_type)

    def amended(
        self,
        *,
        action: str | None = _KEEP,
        status: str | None = _KEEP,
        replycode: str | None = _KEEP,
        diagnostic: str = _KEEP,
        remote_mta: str | None = _KEEP,
        reporting_mta: str | None = _KEEP,
        feedback_type: str | None = _KEEP,
        reason_hint: Reason | None = _KEEP,
        smtp_command: str | None = _KEEP,
        diagnostic_type: str | None = _KEEP,
    ) -> BounceFacts:
        """``dataclasses.replace(self, **given)`` for the fields given (the recipient stays).

        Detectors complete a report's facts from their text (the SMTP command, the full
        reply, their own reason): about one copy per Postfix or Sendmail bounce. The generic
        ``replace`` reads the field table and builds a keyword dict first: ~3x the cost of
        making the facts (issue 3, session 8). A test checks this against ``replace`` for
        every field, and that it names them all."""
        return BounceFacts(
            self.recipient,
            self.action if action is _KEEP else action,
            self.status if status is _KEEP else status,
            self.replycode if replycode is _KEEP else replycode,
            self.diagnostic if diagnostic is _KEEP else diagnostic,
            self.remote_mta if remote_mta is _KEEP else remote_mta,
            self.reporting_mta if reporting_mta is _KEEP else reporting_mta,
            self.feedback_type if feedback_type is _KEEP else feedback_type,
            self.reason_hint if reason_hint is _KEEP else reason_hint,
            self.smtp_command if smtp_command is _KEEP else smtp_command,
            self.diagnostic_type if diagnostic_type is _KEEP else diagnostic_type,
        )


def _slot_setters(cls: type) -> tuple[Any, ...]:
    """The ``__set__`` of each field's slot of a slotted dataclass, in field order."""
    return tuple(cls.__dict__[f.name].__set__ for f in fields(cls))


_CLASSIFICATION_SETTERS = _slot_setters(Classification)
_BOUNCE_FACTS_SETTERS = _slot_setters(BounceFacts)


@dataclass(frozen=True, slots=True)
class BounceRecord:
    """One classified rejection, exactly the JSON record contract of DESIGN §5."""

    source: str
    message_id: str | None
    recipient: str
    action: str | None
    status: str | None
    replycode: str | None
    reason: Reason
    kind: Kind
    hardbounce: bool
    party: Party
    diagnostic: str
    remote_mta: str | None
    reporting_mta: str | None
    feedback_type: str | None
    date: str | None
    original_message_id: str | None
    campaign: str | None
    detector: str
    extra: dict[str, Any] = field(default_factory=dict, compare=False)

    def __init__(
        self,
        source: str,
        message_id: str | None,
        recipient: str,
        action: str | None,
        status: str | None,
        replycode: str | None,
        reason: Reason,
        kind: Kind,
        hardbounce: bool,
        party: Party,
        diagnostic: str,
        remote_mta: str | None,
        reporting_mta: str | None,
        feedback_type: str | None,
        date: str | None,
        original_message_id: str | None,
        campaign: str | None,
        detector: str,
        extra: dict[str, Any] | None = None,
    ) -> None:
        # As ``BounceFacts.__init__`` (one record per rejection: ~34 k instructions made by
        # the generated one, ~22 k so); ``extra`` a new dict when not given, as its factory.
        setters = _BOUNCE_RECORD_SETTERS
        setters[0](self, source)
        setters[1](self, message_id)
        setters[2](self, recipient)
        setters[3](self, action)
        setters[4](self, status)
        setters[5](self, replycode)
        setters[6](self, reason)
        setters[7](self, kind)
        setters[8](self, hardbounce)
        setters[9](self, party)
        setters[10](self, diagnostic)
        setters[11](self, remote_mta)
        setters[12](self, reporting_mta)
        setters[13](self, feedback_type)
        setters[14](self, date)
        setters[15](self, original_message_id)
        setters[16](self, campaign)
        setters[17](self, detector)
        setters[18](self, {} if extra is None else extra)

    def to_dict(self) -> dict[str, Any]:
        """The §5 contract: these keys, in this order, enums as their string values.

        Spelt out as one dict display (half the time of a loop over ``RECORD_KEYS`` with
        ``getattr``; ``dataclasses.asdict`` deep-copies and recurses, a sixth of
        ``parse-bounces``'s serial work per record). ``tests/test_recording_writes`` pins its keys
        to ``RECORD_KEYS``.
        """
        return {
            "source": self.source,
            "message_id": self.message_id,
            "recipient": self.recipient,
            "action": self.action,
            "status": self.status,
            "replycode": self.replycode,
            "reason": str(self.reason),
            "kind": str(self.kind),
            "hardbounce": self.hardbounce,
            "party": str(self.party),
            "diagnostic": self.diagnostic,
            "remote_mta": self.remote_mta,
            "reporting_mta": self.reporting_mta,
            "feedback_type": self.feedback_type,
            "date": self.date,
            "original_message_id": self.original_message_id,
            "campaign": self.campaign,
            "detector": self.detector,
        }


_BOUNCE_RECORD_SETTERS = _slot_setters(BounceRecord)

# The keys of the record contract (DESIGN §5), in order: what csv and json carry.
RECORD_KEYS = tuple(f.name for f in fields(BounceRecord) if f.name != "extra")
