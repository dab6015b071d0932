"""Correlation texts: which campaign message a bounce answers.

The returned original's headers (else the bounce's own text parts) are scanned for the
original Message-ID and for tracking tokens (the tracking header, VERP addresses); the
caller verifies the tokens' signatures. Moved from ``bounces/__init__.py`` (session 7).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from email._policybase import compat32  # email.policy's, without importing email.policy
from email.message import Message
from typing import Any

from mailbounce.bounces._message import IndexedMessage
from mailbounce.bounces._prefilter import folded
from mailbounce.bounces._prefilter import search as literal_search
from mailbounce.bounces.base import Mail, header_items, part_text
from mailbounce.tracking import TRACKING_HEADER, token_from_address

_TOKEN_HEADER = re.compile(rf"^{TRACKING_HEADER}:[ \t]*([^\s]+)", re.I | re.M)
_TOKEN_LITERAL = f"{TRACKING_HEADER}:".lower()  # what every _TOKEN_HEADER match holds
_TOKEN_NAME = TRACKING_HEADER.lower()
_KEY_LENGTHS = frozenset({len("message-id"), len(_TOKEN_NAME), len("return-path")})
# The look-behind starts a match only where a word starts: linear on long runs (no ReDoS).
_ADDRESS = re.compile(r"(?<![\w.+=-])[\w.+=-]+@[\w.-]+")
_VERP_HEADERS = frozenset({"to", "delivered-to", "x-original-to", "envelope-to", "return-path"})
_VERP_LENGTHS = frozenset(map(len, _VERP_HEADERS))
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
    if msg.policy is not compat32:
        return "".join(f"{k}: {v}\n" for k, v in header_items(msg))
    fetch = compat32.header_fetch_parse
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


def correlation_keys(mail: Mail) -> tuple[str | None, tuple[str, ...]]:
    """The returned original's Message-ID and the candidate tracking tokens of a bounce:
    ``_original_message_id`` and ``_tracking_tokens`` of ``_original_texts``, with the
    same answers. A returned message's headers are read as fields (``_header_keys``), not
    joined into a text lower-cased and scanned (session 8: most bounces return one)."""
    sources = _original_sources(mail)
    if not any(sources):  # a message is falsy without fields (``len``), a text when empty
        texts = _body_texts(mail)
        lowered = [folded(text) for text in texts]
        return (
            _original_message_id(texts, lowered, False),
            _tracking_tokens(mail.msg, texts, lowered),
        )
    message_id: str | None = None
    tokens = _own_tokens(mail.msg)  # the bounce's own VERP fields
    for source in sources:
        if isinstance(source, str):
            keys = _text_keys(source)
        else:
            keys = _header_keys(source) or _text_keys(_header_lines(source))
        found_id, found_tokens = keys
        if message_id is None:
            message_id = found_id
        tokens.extend(found_tokens)
    return message_id, tuple(dict.fromkeys(tokens)) if tokens else ()


def _original_sources(mail: Mail) -> list[str | IndexedMessage]:
    """``_original_text`` of each of ``_original_parts``, or the returned message itself
    when its fields can be read one by one (``_header_keys``): one pass over the parts, a
    message part's payload read once (``get_payload()`` is its list as it is)."""
    found: list[str | IndexedMessage] = []
    top = mail.msg
    for part, kind in mail.parts():
        if part is top or kind not in _ORIGINAL_TYPES:
            continue
        payload = part._payload  # type: ignore[attr-defined]
        if not isinstance(payload, list):
            found.append(mail.part_text(part))  # decoded once: the detectors read it too
            continue
        inner = payload[0] if payload else None
        if not isinstance(inner, Message):
            found.append("")
        elif inner.get_content_type() == "multipart/report":
            continue  # a forwarded report, not the returned original: look inside
        elif inner.__class__ is IndexedMessage and inner.policy is compat32:
            found.append(inner)
        else:
            found.append(_header_lines(inner))
    return found


def _fetched(fetch: Callable[[str, Any], Any], name: str, value: Any) -> Any:
    """A field's value as ``_header_lines`` writes it."""
    return value if value.__class__ is str and value.isascii() else fetch(name, value)


def _text_keys(text: str) -> tuple[str | None, list[str]]:
    """The Message-ID and tokens of one returned original's text."""
    texts, lowered = [text], [folded(text)]
    tokens: list[str] = []
    _text_tokens(tokens, texts, lowered)
    return _original_message_id(texts, lowered, True), tokens


def _header_keys(msg: IndexedMessage) -> tuple[str | None, list[str]] | None:
    """``_text_keys(_header_lines(msg))`` from the fields themselves; None when a field of
    one of the three names' lengths is not ASCII (``re.IGNORECASE`` matches a few non-ASCII
    letters with ASCII ones, one for one: only a name of the very length can match).

    In that text every field starts a line, and a field's value goes on only on lines
    that start with a blank (how a header is parsed): a line starting ``Message-ID:`` is a
    field of that name, and the patterns, anchored there, never reach the next field. So
    each field's line alone gives the very match, in the fields' order."""
    message_id = None
    tokens: list[str] = []
    paths: list[str] = []  # the Return-Path tokens
    # One pass for the three names: only fields of their lengths are lower-cased.
    fetch = compat32.header_fetch_parse
    for name, value in msg._headers:  # type: ignore[attr-defined]
        if len(name) not in _KEY_LENGTHS:
            continue
        if not name.isascii():
            return None
        key = name.lower()
        if key == "message-id":
            if message_id is None:
                match = _MESSAGE_ID.match(f"message-id: {_fetched(fetch, name, value)}\n")
                if match:
                    message_id = match.group(1).strip()
        elif key == _TOKEN_NAME:
            match = _TOKEN_HEADER.match(f"{key}: {_fetched(fetch, name, value)}\n")
            if match:
                tokens.append(match.group(1))
        elif key == "return-path" and (value.__class__ is not str or "+" in value):
            match = _RETURN_PATH.match(f"{key}: {_fetched(fetch, name, value)}\n")
            if match:
                paths.extend(_verp_tokens(match.group(0)))
    return message_id, tokens + paths  # a text gives its header's tokens first


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
    tokens = _own_tokens(msg)
    _text_tokens(tokens, texts, lowered_texts)
    return tuple(dict.fromkeys(tokens)) if tokens else ()


def _own_tokens(msg: Message) -> list[str]:
    """The tokens of the VERP addresses in the bounce's own fields, in their order."""
    tokens: list[str] = []
    if _may_hold_verp(msg):
        for name, raw in msg.raw_items():
            if name.lower() in _VERP_HEADERS:
                # The value as ``items()`` gives it, fetched for these headers only.
                tokens.extend(_verp_tokens(str(msg.policy.header_fetch_parse(name, raw))))
    return tokens


def _text_tokens(tokens: list[str], texts: list[str], lowered_texts: list[str | None]) -> None:
    """The tracking-header and Return-Path tokens of ``texts``, added to ``tokens``."""
    for text, lowered in zip(texts, lowered_texts, strict=True):
        # Most texts hold neither field: one look-up each, no generator made (session 7).
        if lowered is None or _TOKEN_LITERAL in lowered:
            for match in _line_matches(_TOKEN_HEADER, _TOKEN_LITERAL, text, lowered):
                tokens.append(match.group(1))
        if lowered is None or "return-path:" in lowered:
            for match in _line_matches(_RETURN_PATH, "return-path:", text, lowered):
                tokens.extend(_verp_tokens(match.group(0)))


def _may_hold_verp(msg: Message) -> bool:
    """False when no VERP header's raw value holds a "+": none then gives a token (fetching a
    value only adds blanks or replacement characters). One pass over the raw fields, up to
    the first such field (session 9: most hold a "+", in a Received or Date zone, and
    lowering their names cost more than the pass): a field's name is lowered only when it
    has a VERP name's length (a name that ``str.lower`` makes ASCII keeps its length, as
    ``IndexedMessage.get_all`` relies on) and its value a "+" (a value that is not a plain
    ``str`` may hold one)."""
    for name, raw in msg._headers:  # type: ignore[attr-defined]  # (``raw_items`` copies it)
        if (
            len(name) in _VERP_LENGTHS
            and (raw.__class__ is not str or "+" in raw)
            and name.lower() in _VERP_HEADERS
        ):
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
