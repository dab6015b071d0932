"""Correlation texts: which campaign message a bounce answers.

The returned original's headers (else the bounce's own text parts) are scanned for the
original Message-ID and for tracking tokens (the tracking header, VERP addresses); the
caller verifies the tokens' signatures. Moved from ``bounces/__init__.py`` (session 7).
"""

from __future__ import annotations

import email.policy
import re
from collections.abc import Iterator
from email.message import Message

from mailbounce.bounces._prefilter import folded
from mailbounce.bounces._prefilter import search as literal_search
from mailbounce.bounces.base import Mail, header_items, part_text
from mailbounce.tracking import TRACKING_HEADER, token_from_address

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
        # Most texts hold neither field: one look-up each, no generator made (session 7).
        if lowered is None or _TOKEN_LITERAL in lowered:
            for match in _line_matches(_TOKEN_HEADER, _TOKEN_LITERAL, text, lowered):
                tokens.append(match.group(1))
        if lowered is None or "return-path:" in lowered:
            for match in _line_matches(_RETURN_PATH, "return-path:", text, lowered):
                tokens.extend(_verp_tokens(match.group(0)))
    return tuple(dict.fromkeys(tokens)) if tokens else ()


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
