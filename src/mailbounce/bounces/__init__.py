"""Bounce analysis: one raw message in, classified per-recipient rejections out.

``analyse_message`` normalises line endings once, checks the safety limits on the raw bytes,
parses with the fast ``compat32`` policy (issue 3), asks each registered detector in order,
and classifies each recipient's facts with ``mailbounce.classify``.
"""

from __future__ import annotations

import email
import email.policy
import functools
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from email.message import Message
from enum import StrEnum
from typing import TypeVar

from mailbounce.bounces._fastparse import parse_message
from mailbounce.bounces._message import IndexedMessage
from mailbounce.bounces._prefilter import folded
from mailbounce.bounces._prefilter import search as literal_search
from mailbounce.bounces._recipientblocks import recipient_texts
from mailbounce.bounces._reportshape import looks_like_report, report_text
from mailbounce.bounces.base import Detector, Gate, Mail, header_items, part_text
from mailbounce.bounces.limits import DEFAULT_LIMITS, ParseLimits, limit_exceeded, size_exceeded
from mailbounce.bounces.rfc3464 import best_status, find_reply
from mailbounce.classify import classify
from mailbounce.models import BounceFacts, Classification
from mailbounce.tracking import TRACKING_HEADER, token_from_address

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


class UnparseableMessage(Exception):
    """The message is over a safety limit or cannot be parsed; the caller quarantines it."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


_TOKEN_HEADER = re.compile(rf"^{TRACKING_HEADER}:[ \t]*([^\s]+)", re.I | re.M)
_TOKEN_LITERAL = f"{TRACKING_HEADER}:".lower()  # what every _TOKEN_HEADER match holds
# The look-behind starts a match only where a word starts: linear on long runs (no ReDoS).
_ADDRESS = re.compile(r"(?<![\w.+=-])[\w.+=-]+@[\w.-]+")
_VERP_HEADERS = frozenset({"to", "delivered-to", "x-original-to", "envelope-to", "return-path"})
_RETURN_PATH = re.compile(r"^Return-Path:[^\n]*", re.I | re.M)
_MESSAGE_ID = re.compile(r"^Message-ID:[ \t]*(?:\n[ \t]+)?(<[^>\s]+>|\S+)", re.I | re.M)
_ORIGINAL_HEADERS = re.compile(
    r"original message|message headers follow|headers of the original|copy of the message"
    r"|below this line is a copy|undelivered message headers|returned message"
    r"|message d'origine|message original|en-t[êe]tes du message",
    re.I,
)
_ORIGINAL_TYPES = frozenset({"message/rfc822", "text/rfc822-headers", "message/rfc822-headers"})


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
    problem = limit_exceeded(raw, limits)
    if problem is not None:
        raise UnparseableMessage(problem)
    try:
        # IndexedMessage: compat32 with header look-ups answered from an index (h12). The fast
        # splitter builds the very same tree, or declines and the feedparser reads it (issue 3).
        msg = parse_message(raw) or email.message_from_bytes(
            raw, IndexedMessage, policy=email.policy.compat32
        )
    except (RecursionError, MemoryError) as exc:
        raise UnparseableMessage(f"cannot parse the MIME structure: {type(exc).__name__}") from None
    except (TypeError, ValueError, LookupError, AttributeError) as exc:
        # The standard library's own parameter decoding can fail on broken headers, e.g.
        # ``boundary*0=; boundary*`` (RFC 2231) sorts None with 0 in ``email.utils``: the
        # message is quarantined with the cause, never a crash (issue 3).
        raise UnparseableMessage(
            f"cannot parse the MIME structure: {type(exc).__name__}: {exc}"
        ) from None
    mail = Mail(msg)
    detector_name, facts = _detect(mail)
    texts, from_original = _original_texts(mail, _original_parts(mail))
    lowered = [_ascii_lowered(text) for text in texts]  # for both scans below, made once
    verdict = Verdict.BOUNCE
    if not facts:
        verdict = Verdict.UNRECOGNISED if looks_like_report(mail) else Verdict.NOT_BOUNCE
    return Analysis(
        verdict=verdict,
        detector=detector_name,
        message_id=_header_or_none(mail, "Message-ID"),
        date=_header_or_none(mail, "Date"),
        original_message_id=_original_message_id(texts, lowered, from_original),
        tracking_tokens=_tracking_tokens(msg, texts, lowered),
        results=tuple((f, classify(f)) for f in facts),
    )


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
                replace(
                    fact,
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


def _original_parts(mail: Mail) -> list[Message]:
    """The returned original: message/rfc822 parts and text/rfc822-headers parts."""
    found: list[Message] = []
    for part, kind in mail.parts():  # walk() order, content types read once per message
        if part is not mail.msg and kind in _ORIGINAL_TYPES:
            if _is_forwarded_report(part):
                continue  # a forwarded report, not the returned original: look inside
            found.append(part)
    return found


def _is_forwarded_report(part: Message) -> bool:
    inner = part.get_payload()
    if isinstance(inner, list) and inner and isinstance(inner[0], Message):
        return inner[0].get_content_type() == "multipart/report"
    return False


def _original_text(part: Message) -> str:
    payload = part.get_payload()
    if isinstance(payload, list):
        inner = payload[0] if payload else None
        if isinstance(inner, Message):
            return _header_lines(inner)
        return ""
    return part_text(part)


def _header_lines(msg: Message) -> str:
    """``"".join(f"{k}: {v}\n" for k, v in msg.items())``: under compat32 an ASCII ``str``
    value is what the policy returns for it (``header_items``), here in one list (round 4:
    a third less than the list of pairs then the generator)."""
    if msg.policy is not email.policy.compat32:
        return "".join(f"{k}: {v}\n" for k, v in header_items(msg))
    fetch = email.policy.compat32.header_fetch_parse
    return "".join(
        [
            f"{k}: {v}\n" if v.__class__ is str and v.isascii() else f"{k}: {fetch(k, v)}\n"
            for k, v in msg.raw_items()
        ]
    )


def _body_texts(mail: Mail) -> list[str]:
    texts: list[str] = []
    for part, kind in mail.parts():
        if kind.startswith("text/") and kind != "text/html":
            texts.append(mail.part_text(part))
        if len(texts) >= 4:
            break
    return texts


def _original_texts(mail: Mail, original: list[Message]) -> tuple[list[str], bool]:
    """The returned original's header texts, else the bounce's own text parts (and which)."""
    texts = [_original_text(part) for part in original]
    if any(texts):
        return texts, True
    return _body_texts(mail), False


def _original_message_id(
    texts: list[str], lowered_texts: list[str | None], from_original: bool
) -> str | None:
    for text, lowered in zip(texts, lowered_texts, strict=True):
        if lowered is not None and "message-id:" not in lowered:
            continue  # no Message-ID line: skip the scans (h12)
        start = 0
        if not from_original:
            # In a text report the original's headers follow a marker line.
            marker = literal_search(_ORIGINAL_HEADERS, text, lowered)
            if marker is None:
                continue
            start = marker.end()
        match = next(_line_matches(_MESSAGE_ID, "message-id:", text, lowered, start), None)
        if match:
            return match.group(1).strip()
    return None


def _tracking_tokens(
    msg: Message, texts: list[str], lowered_texts: list[str | None]
) -> tuple[str, ...]:
    """Candidate tokens (the caller verifies signatures): VERP addresses and the header."""
    tokens: list[str] = []
    if _may_hold_verp(msg):
        for name, raw in msg.raw_items():
            if name.lower() in _VERP_HEADERS:
                # The value as ``items()`` gives it, fetched for these headers only.
                tokens.extend(_verp_tokens(str(msg.policy.header_fetch_parse(name, raw))))
    for text, lowered in zip(texts, lowered_texts, strict=True):
        for match in _line_matches(_TOKEN_HEADER, _TOKEN_LITERAL, text, lowered):
            tokens.append(match.group(1))
        for match in _line_matches(_RETURN_PATH, "return-path:", text, lowered):
            tokens.extend(_verp_tokens(match.group(0)))
    return tuple(dict.fromkeys(tokens))


def _may_hold_verp(msg: Message) -> bool:
    """False when no VERP header's raw value holds a "+": none then gives a token (fetching a
    value only adds blanks or replacement characters). One pass over the raw fields, the
    "+" looked at before the name (round 5: no per-name lists built for it)."""
    for name, raw in msg.raw_items():
        if (not isinstance(raw, str) or "+" in raw) and name.lower() in _VERP_HEADERS:
            return True
    return False


def _line_matches(
    pattern: re.Pattern[str], literal: str, text: str, lowered: str | None, start: int = 0
) -> Iterator[re.Match[str]]:
    """``pattern.finditer(text, start)`` for a ``^``-anchored multi-line pattern that starts
    with ``literal`` (lower-case; the pattern ignores case): only the lines starting with the
    literal are tried, found with ``str.find`` in the lower-cased text (h12: a
    case-insensitive regex otherwise tries every position). A match never runs into a
    following line that starts with the literal (a fold starts with a blank), so the same
    matches come out in the same order."""
    if lowered is None:
        yield from pattern.finditer(text, start)
        return
    at = lowered.find(literal, start)
    while at != -1:
        if at == 0 or text[at - 1] == "\n":
            match = pattern.match(text, at)
            if match:
                yield match
        at = lowered.find(literal, at + 1)


def _ascii_lowered(text: str) -> str | None:
    """``text`` lower-cased for literal checks before a case-insensitive scan; None when
    ``re.IGNORECASE`` would fold one of its letters otherwise (scan then): ``folded``."""
    return folded(text)


def _verp_tokens(text: str) -> list[str]:
    if "+" not in text:
        return []  # a VERP address is ``prefix+TOKEN@domain``: none here (issue 3)
    found = (token_from_address(a) for a in _ADDRESS.findall(text))
    return [token for token in found if token]
