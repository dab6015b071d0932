"""The bounce's own texts as the detectors read them, made once per message on ``Mail``.

The human text (the first text/plain part outside the returned message), lower-cased once
for literal look-ups before a regex; the Received headers joined, and lower-cased. Detector
gates (``_markers``) read the same cached texts.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from email.message import Message

from mailbounce.bounces._prefilter import folded, may_match
from mailbounce.bounces._prefilter import search as literal_search
from mailbounce.bounces.base import Mail, part_text

_BODY_KEY = "_textblocks.body"
_BODY_LOWER_KEY = "_textblocks.body.lower"
# Cached for a body ``folded`` cannot lower-case exactly (compared by identity: a body may
# hold the very same characters).
NOT_FOLDED = "\x00not folded"
_RECEIVED_KEY = "_textblocks.received"
_RECEIVED_LOWER_KEY = "_textblocks.received.lower"
_ORIGINAL_TYPES = ("message/rfc822", "text/rfc822-headers", "message/partial")


def body_text(mail: Mail) -> str:
    """The bounce's own human text: the first text/plain part outside the returned message.

    For a single-part message this is the whole body (the returned message included: each
    family cuts it at its own separator). Decoded once per message and cached on ``mail``.
    """
    cached = mail._cache.get(_BODY_KEY)
    if cached is not None:
        return cached
    text = ""
    blob: Message | None = None  # the first leaf typed multipart, if no text/plain leaf
    # The leaves outside the returned original in order (``_leaves_outside_original``), up to
    # the first text/plain one: the report's groups after it are not walked (round 5: each
    # delivery-status group is a leaf whose type is asked; ~a third of this function).
    for part in _leaves_outside_original(mail.msg):
        if part.get_content_type() == "text/plain":
            text = mail.part_text(part)
            break
        if blob is None and part.get_content_maintype() == "multipart":
            # Broken MIME (a boundary that never parsed) leaves a multipart as one text blob.
            blob = part
    else:
        if blob is not None:
            text = part_text(blob)
    mail._cache[_BODY_KEY] = text
    return text


def body_search(
    mail: Mail, pattern: re.Pattern[str], limit: int | None = None
) -> re.Match[str] | None:
    """``pattern.search(body_text(mail)[:limit])``, the regex tried only where a literal
    every match needs is found in the body lower-cased once (h12: detectors look for their
    markers in every message's body; a case-insensitive regex scan is slow)."""
    text = body_text(mail)
    lowered = body_lowered(mail, text)
    if limit is not None:
        text = text[:limit]
    if lowered is NOT_FOLDED:
        return literal_search(pattern, text, None)
    return literal_search(pattern, text, lowered if limit is None else lowered[:limit])


def body_lowered(mail: Mail, text: str) -> str:
    """``folded(text)`` of the body text, cached; ``NOT_FOLDED`` when it has no exact one."""
    lowered = mail._cache.get(_BODY_LOWER_KEY)
    if lowered is None:
        low = folded(text)
        lowered = mail._cache[_BODY_LOWER_KEY] = NOT_FOLDED if low is None else low
    return lowered


def _leaves_outside_original(msg: Message) -> Iterator[Message]:
    """Leaf parts in order, not descending into the returned original message (depth
    first with a stack, made as asked: ``body_text`` stops at its part)."""
    stack = [msg]
    while stack:
        part = stack.pop()
        if part.get_content_type() in _ORIGINAL_TYPES:
            continue
        # ``is_multipart()`` is ``_payload`` being a list, which ``get_payload()`` returns.
        payload = part._payload  # type: ignore[attr-defined]
        if isinstance(payload, list):
            stack.extend(reversed([sub for sub in payload if isinstance(sub, Message)]))
            continue
        yield part


def has_part(mail: Mail, content_type: str) -> bool:
    """Whether a part of this content type exists outside the returned original."""
    return any(p.get_content_type() == content_type for p in _all_parts(mail.msg))


def _all_parts(msg: Message) -> Iterator[Message]:
    yield msg
    if msg.get_content_type() in _ORIGINAL_TYPES or not msg.is_multipart():
        return
    payload = msg.get_payload()
    if isinstance(payload, list):
        for sub in payload:
            if isinstance(sub, Message):
                yield from _all_parts(sub)


def received_mentions(mail: Mail, marker: re.Pattern[str]) -> bool:
    """Whether a Received header of the bounce itself names the MTA (its stable trace)."""
    # ~14 detectors ask per message: a literal the marker needs, looked up with ``in`` in
    # the headers joined and lower-cased once, rejects most mail before any regex (h12).
    if not may_match(marker, *received_joined(mail)):
        return False
    return any(marker.search(str(value)) for value in mail.msg.get_all("Received") or ())


def received_joined(mail: Mail) -> tuple[str, str]:
    """The Received headers joined, and lower-cased, once per message."""
    lowered = mail._cache.get(_RECEIVED_LOWER_KEY)
    if lowered is None:
        values = mail.msg.get_all("Received") or []
        try:
            joined = "\n".join(values)  # the usual values: ASCII text, ``str`` already
        except TypeError:
            joined = "\n".join([str(value) for value in values])  # a ``Header`` among them
        mail._cache[_RECEIVED_KEY] = joined
        lowered = mail._cache[_RECEIVED_LOWER_KEY] = joined.lower()
    return mail._cache[_RECEIVED_KEY], lowered
