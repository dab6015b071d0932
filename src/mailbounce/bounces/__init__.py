"""Bounce analysis: one raw message in, classified per-recipient rejections out.

``analyse_message`` normalises line endings once, checks the size and header block limits on
the raw bytes, parses with the fast ``compat32`` splitter, which caps the MIME depth and parts
as it builds the tree (or, where it declines, checks those caps on the raw bytes and uses the
standard library's feedparser; issue 3), asks each registered detector in order, and
classifies each recipient's facts with ``mailbounce.classify``.
"""

from __future__ import annotations

import email
import functools
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from email._policybase import compat32  # email.policy's, without importing email.policy
from email.message import Message
from enum import StrEnum
from typing import TypeVar

from mailbounce.bounces._correlation import correlation_keys
from mailbounce.bounces._fastparse import parse_message
from mailbounce.bounces._message import IndexedMessage
from mailbounce.bounces._recipientblocks import recipient_texts
from mailbounce.bounces._reportshape import looks_like_report, report_text
from mailbounce.bounces.base import Detector, Gate, Mail
from mailbounce.bounces.limits import (
    DEFAULT_LIMITS,
    ParseLimits,
    UnparseableMessage,
    before_parse_exceeded,
    shape_exceeded,
    size_exceeded,
)
from mailbounce.bounces.rfc3464 import best_status, find_reply
from mailbounce.classify import classify
from mailbounce.models import BounceFacts, Classification

__all__ = [
    "DEFAULT_LIMITS",
    "Analysis",
    "ParseLimits",
    "UnparseableMessage",
    "Verdict",
    "analyse_message",
]


_T = TypeVar("_T")


class Verdict(StrEnum):
    """What the message is: a bounce with records, not a bounce, or a bounce we cannot read."""

    BOUNCE = "bounce"
    NOT_BOUNCE = "not_bounce"
    UNRECOGNISED = "unrecognised"


@dataclass(frozen=True)
class Analysis:
    """The outcome for one message; ``results`` pairs each recipient's facts with its class."""

    verdict: Verdict
    detector: str | None
    message_id: str | None
    date: str | None
    original_message_id: str | None
    tracking_tokens: tuple[str, ...]
    results: tuple[tuple[BounceFacts, Classification], ...]

    def __init__(
        self,
        verdict: Verdict,
        detector: str | None,
        message_id: str | None,
        date: str | None,
        original_message_id: str | None,
        tracking_tokens: tuple[str, ...],
        results: tuple[tuple[BounceFacts, Classification], ...],
    ) -> None:
        # The dataclass's own ``__init__`` (kept by ``@dataclass``: this one is defined), its
        # fields written straight into the instance dict: a frozen dataclass's generated
        # ``__init__`` calls ``object.__setattr__`` per field, ~2 k instructions each
        # (callgrind; ~15 k an analysis, made once per message).
        fields = self.__dict__
        fields["verdict"] = verdict
        fields["detector"] = detector
        fields["message_id"] = message_id
        fields["date"] = date
        fields["original_message_id"] = original_message_id
        fields["tracking_tokens"] = tracking_tokens
        fields["results"] = results


# Read once: under Python 3.11 a member read off its enum class costs ~0.4 µs (recording.py).
_BOUNCE, _UNRECOGNISED, _NOT_BOUNCE = Verdict.BOUNCE, Verdict.UNRECOGNISED, Verdict.NOT_BOUNCE


def _normalise(raw: bytes) -> bytes:
    """LF line endings whatever the source (corpus ``dos/`` and ``mac/`` give the same)."""
    if b"\r" not in raw:
        return raw
    return raw.replace(b"\r\n", b"\n").replace(b"\r", b"\n")


def analyse_message(raw: bytes, *, limits: ParseLimits = DEFAULT_LIMITS) -> Analysis:
    """Detect and classify every recipient record of one raw message."""
    problem = size_exceeded(raw, limits)  # before normalising: never copy a huge message
    if problem is not None:
        raise UnparseableMessage(problem)
    raw = _normalise(raw)
    problem = before_parse_exceeded(raw, limits)
    if problem is not None:
        raise UnparseableMessage(problem)
    msg = _parsed(raw, limits)
    mail = Mail(msg)
    detector_name, facts = _detect(mail)
    original_message_id, tracking_tokens = correlation_keys(mail)
    verdict = _BOUNCE
    if not facts:
        verdict = _UNRECOGNISED if looks_like_report(mail) else _NOT_BOUNCE
    # Positional, in the fields' order (keywords are matched by name on each call).
    return Analysis(
        verdict,
        detector_name,
        _header_or_none(mail, "Message-ID"),
        _header_or_none(mail, "Date"),
        original_message_id,
        tracking_tokens,
        tuple([(f, classify(f)) for f in facts]),
    )


def _parsed(raw: bytes, limits: ParseLimits) -> Message:
    """The message's compat32 tree of ``IndexedMessage`` parts (header look-ups answered
    from an index, h12). The fast splitter builds the very same tree, raising
    ``UnparseableMessage`` at a part past the depth or part cap, or declines: the raw scan of
    those caps then runs, and the feedparser, which has no caps, reads a message within them
    (issue 3)."""
    try:
        msg = parse_message(raw, limits)
        if msg is not None:
            return msg
        problem = shape_exceeded(raw, limits)
        if problem is not None:
            raise UnparseableMessage(problem)
        return email.message_from_bytes(raw, IndexedMessage, policy=compat32)
    except (RecursionError, MemoryError) as exc:
        raise UnparseableMessage(f"cannot parse the MIME structure: {type(exc).__name__}") from None
    except (TypeError, ValueError, LookupError, AttributeError) as exc:
        # The standard library's own parameter decoding can fail on broken headers, e.g.
        # ``boundary*0=; boundary*`` (RFC 2231) sorts None with 0 in ``email.utils``: the
        # message is quarantined with the cause, never a crash (issue 3).
        raise UnparseableMessage(
            f"cannot parse the MIME structure: {type(exc).__name__}: {exc}"
        ) from None


def _detect(mail: Mail) -> tuple[str | None, list[BounceFacts]]:
    """The first detector, in registry order, that finds records, and its records.

    A gate says False only when detect would return None (base.GatedDetector); the gates
    are asked together by ``registry.ASKED`` (``_dispatch``), which yields the detectors to
    ask in turn. If asking them raises (a view that cannot be built), they are asked one by
    one from there, as before, so the error names its detector.
    """
    compiled, asked = _registry()
    count = len(compiled)
    indexes = asked(mail)
    start = 0  # the first index not yet asked
    while True:
        try:
            index = next(indexes, count)
        except Exception:
            return _detect_in_turn(mail, compiled[start:])
        if index >= count:
            return None, []
        detector = compiled[index][0]
        found = _guarded(detector.detect, mail, detector.name)
        if found:
            return detector.name, _with_words(mail, _unique(found))
        start = index + 1


_Registry = tuple[tuple[tuple[Detector, Gate | None], ...], Callable[[Mail], Iterator[int]]]


@functools.cache
def _registry() -> _Registry:
    """``registry.COMPILED`` and ``registry.ASKED``, imported on first use (detectors
    import this package) and kept: an import statement per message cost ~2 µs (round 4)."""
    from mailbounce.bounces.registry import ASKED, COMPILED

    return COMPILED, ASKED


def _detect_in_turn(
    mail: Mail, gated: tuple[tuple[Detector, Gate | None], ...]
) -> tuple[str | None, list[BounceFacts]]:
    """``_detect`` asking each gate on its own."""
    for detector, gate in gated:
        if gate is not None and not _guarded(gate, mail, detector.name):
            continue
        found = _guarded(detector.detect, mail, detector.name)
        if found:
            return detector.name, _with_words(mail, _unique(found))
    return None, []


def _guarded(call: Callable[[Mail], _T], mail: Mail, name: str) -> _T:
    """``call(mail)`` for the detector ``name`` (its gate or its ``detect``)."""
    try:
        return call(mail)
    except RecursionError:
        raise UnparseableMessage("MIME structure too deep to analyse") from None
    except Exception as exc:
        # A detector defect must not stop the batch: the message is quarantined with the
        # cause, so it is seen and can become a test sample (issue 3, "never a crash").
        raise UnparseableMessage(
            f"internal error in the {name} detector: {type(exc).__name__}: {exc}"
        ) from exc


def _with_words(mail: Mail, facts: list[BounceFacts]) -> list[BounceFacts]:
    """Fill in the server's words for records a detector found without any (no diagnostic,
    no code): the report's text block for that recipient, as the fallback reads it."""
    # A bare ``Status: 5.0.0`` (OpenSMTPD, many gateways) says no more than "failed": the
    # text still names the reason.
    bare = {
        f.recipient.lower(): f.recipient
        for f in facts
        if f.recipient
        and not (f.diagnostic or f.replycode or f.reason_hint)
        and (f.status or "")[1:] in ("", ".0.0")
    }
    if not bare:
        return facts
    texts = recipient_texts(report_text(mail.msg), set(), bare)
    enriched = []
    for fact in facts:
        _, words = texts.get(fact.recipient.lower(), ("", ""))
        if words and fact.recipient.lower() in bare:
            enriched.append(
                fact.amended(
                    diagnostic=words[:1000],
                    status=best_status(fact.status, words),
                    replycode=find_reply(words),
                )
            )
        else:
            enriched.append(fact)
    return enriched


def _unique(facts: list[BounceFacts]) -> list[BounceFacts]:
    """One record per recipient address (a report may list the same group twice)."""
    seen: set[str] = set()
    kept: list[BounceFacts] = []
    for fact in facts:
        key = fact.recipient.lower()
        if key not in seen:
            seen.add(key)
            kept.append(fact)
    return kept


def _header_or_none(mail: Mail, name: str) -> str | None:
    value = mail.header(name).strip()
    return value or None
