"""What an attempt concluded: an SMTP result turned into the delivery's next state.

Accepted → sent; lost after the final dot → uncertain (the server may have it); lost
before → deferred; a reply is classified (``classify.classify_smtp_reply``): temporary or
4xx → deferred with its retry time (or expired past the give-up delay), else failed, with
a suppression for a hard bounce. A 421 backs its domain off for the rest of the run.
"""

from __future__ import annotations

from datetime import UTC, datetime

from mailbounce.campaign import Campaign
from mailbounce.models import Classification, DeliveryState, Kind, SuppressionCause
from mailbounce.ratelimit import DomainGate
from mailbounce.smtp import Result, SendResult
from mailbounce.store.sending import Delivery, Outcome

S = DeliveryState
# Every message's outcome, looked up once: ``Result.ACCEPTED`` goes through
# ``EnumType.__getattr__`` (~1 µs on CPython 3.11).
_ACCEPTED, _SENT = Result.ACCEPTED, S.SENT


def iso(moment: datetime) -> str:
    """The stored form of a time: ISO 8601, UTC, seconds."""
    return moment.astimezone(UTC).isoformat(timespec="seconds")


def backed_off(domain: str, until: datetime) -> Outcome:
    """Not tried: the domain closed a connection with 421 earlier in this run."""
    return Outcome(
        S.DEFERRED,
        reply=f"not tried: {domain} closed a connection with 421 in this run",
        next_attempt_at=iso(until),
        attempted=False,
    )


def outcome_of(
    campaign: Campaign,
    gate: DomainGate,
    result: SendResult,
    delivery: Delivery,
    now: datetime,
    domain: str,
) -> Outcome:
    """The outcome of ``delivery``'s attempt that ended with ``result``."""
    if result.result is _ACCEPTED:
        return Outcome(_SENT, reply=result.reply, replycode=str(result.code))
    if result.result is Result.LOST_AFTER_DOT:
        return Outcome(S.UNCERTAIN, reply=f"connection lost after the end of data: {result.text}")
    # Imported here: the classifier's rule tables take ~0.1 s to load, and a run whose
    # replies are all 250 never needs them.
    from mailbounce.classify import classify_smtp_reply

    if result.result is Result.LOST_BEFORE_DOT:
        cls = classify_smtp_reply(421, f"4.4.2 connection lost at {result.stage}: {result.text}")
        reply = f"connection lost at {result.stage}: {result.text}"
        return _deferred(campaign, delivery, now, cls, reply, None, None)
    code = result.code or 451
    cls = classify_smtp_reply(code, result.text, delivery.address)
    status = _status(result.text, code)
    if code == 421:
        gate.back_off(domain, now + campaign.retry.first)
    if cls.kind is Kind.TEMPORARY or 400 <= code < 500:
        return _deferred(campaign, delivery, now, cls, result.reply, str(code), status)
    return Outcome(
        S.FAILED,
        reply=result.reply,
        replycode=str(code),
        status=status,
        classification=cls,
        suppress_as=SuppressionCause.INVALID if cls.hardbounce else None,
    )


def _deferred(
    campaign: Campaign,
    delivery: Delivery,
    now: datetime,
    cls: Classification,
    reply: str,
    replycode: str | None,
    status: str | None,
) -> Outcome:
    first = datetime.fromisoformat(delivery.first_attempt_at) if delivery.first_attempt_at else now
    when = campaign.retry.next_attempt(
        attempts=delivery.attempts + 1, first_attempt_at=first, now=now
    )
    return Outcome(
        S.DEFERRED if when is not None else S.EXPIRED,
        reply=reply,
        replycode=replycode,
        status=status,
        classification=cls,
        next_attempt_at=iso(when) if when is not None else None,
    )


def _status(text: str, code: int) -> str | None:
    from mailbounce.diagnostic_text import find_enhanced_status  # see ``outcome_of``

    status = find_enhanced_status(text)
    return status if status is not None and status[0] == str(code)[0] else None
