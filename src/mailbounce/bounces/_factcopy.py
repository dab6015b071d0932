"""A bounce's facts with some fields changed: ``dataclasses.replace`` without its generic walk.

Detectors complete the facts of a delivery-status group from their text (the SMTP command,
the full reply, their own reason): about one copy per Postfix or Sendmail bounce. The
generic ``replace`` reads the class's field table, checks each field's kind and builds a
keyword dict before calling ``__init__``: ~3x the cost of making the facts (issue 3,
session 8). ``amended`` passes every field straight to ``__init__``, in its order; a test
checks it against ``replace`` for every field, and that it names them all.
"""

from __future__ import annotations

from typing import Any

from mailbounce.models import BounceFacts, Reason

_KEEP: Any = object()  # "not given": the field keeps its value (None is a value)


def amended(
    fact: BounceFacts,
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
    """``dataclasses.replace(fact, **given)`` for the fields given (the recipient stays)."""
    return BounceFacts(
        fact.recipient,
        fact.action if action is _KEEP else action,
        fact.status if status is _KEEP else status,
        fact.replycode if replycode is _KEEP else replycode,
        fact.diagnostic if diagnostic is _KEEP else diagnostic,
        fact.remote_mta if remote_mta is _KEEP else remote_mta,
        fact.reporting_mta if reporting_mta is _KEEP else reporting_mta,
        fact.feedback_type if feedback_type is _KEEP else feedback_type,
        fact.reason_hint if reason_hint is _KEEP else reason_hint,
        fact.smtp_command if smtp_command is _KEEP else smtp_command,
        fact.diagnostic_type if diagnostic_type is _KEEP else diagnostic_type,
    )
