"""Safety limits of one message (issue 3, "Safety limits").

A hostile or broken message must not cost unbounded time, memory or recursion: the size, the
header block, the MIME nesting depth and the number of parts are capped. The size and header
block are checked on the raw bytes before any parse (``before_parse_exceeded``). The depth and
the parts are counted by the fast MIME splitter as it builds the tree (``_fastparse``: it
stops with ``UnparseableMessage`` at the first part past a cap, so the work stays bounded);
a message it leaves to the standard library's feedparser, which has no caps, is first scanned
here (``shape_exceeded``: one regex pass over the raw bytes that follows boundary
declarations, delimiter lines and ``message/rfc822`` headers, an approximation of the tree).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# Three scans with literal prefixes (fast in the regex engine), merged by position; the
# declarations and message headers are searched in a lower-cased copy of the same length.
_DECLARATION = re.compile(rb'boundary\s*=\s*(?:"([^"\n]{1,200})"|([^\s;"]{1,200}))')
_MESSAGE = re.compile(rb"content-type:[ \t]*message/(?:rfc822|global)\b")
_DELIMITER = re.compile(rb"\n--([^\n]{1,210})")


class UnparseableMessage(Exception):
    """The message is over a safety limit or cannot be parsed; the caller quarantines it."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True, slots=True)
class ParseLimits:
    """Caps for one message; each is configurable (config section ``bounces``). The depth
    counts the multipart and ``message/*`` parts around a part (a top-level text: 0); the
    parts are every part below the top (each delivery-status group too)."""

    max_message_bytes: int = 20 * 1024 * 1024
    max_header_bytes: int = 1024 * 1024
    max_depth: int = 24
    max_parts: int = 2000


DEFAULT_LIMITS = ParseLimits()


def size_exceeded(raw: bytes, limits: ParseLimits) -> str | None:
    """The size check alone: done first, before anything touches the bytes."""
    if len(raw) > limits.max_message_bytes:
        return f"message is {len(raw)} bytes, over the {limits.max_message_bytes}-byte limit"
    return None


def before_parse_exceeded(raw: bytes, limits: ParseLimits) -> str | None:
    """Why ``raw`` (LF line endings) is over the size or header block limit, as one line, or
    None: the checks made before either parse."""
    problem = size_exceeded(raw, limits)
    if problem is not None:
        return problem
    # The header block lies within the message: only a longer message needs its end found
    # (a scan for the blank line cost a sixth of this check on the DEV corpus, issue 3).
    if len(raw) > limits.max_header_bytes:
        end = raw.find(b"\n\n")
        if (len(raw) if end < 0 else end) > limits.max_header_bytes:
            return f"header block is over the {limits.max_header_bytes}-byte limit"
    return None


def depth_exceeded(limits: ParseLimits) -> str:
    """The quarantine reason of a message nested deeper than ``limits.max_depth``."""
    return f"MIME nesting depth over the limit of {limits.max_depth}"


def parts_exceeded(limits: ParseLimits) -> str:
    """The quarantine reason of a message of more than ``limits.max_parts`` parts."""
    return f"more than {limits.max_parts} MIME parts"


def shape_exceeded(raw: bytes, limits: ParseLimits) -> str | None:
    """Why ``raw`` is over the depth or part limit by the raw scan (``mime_shape``), or None:
    asked before the feedparser reads a message the fast splitter declined."""
    if _within_shape_limits(raw, limits):
        return None
    depth, parts = mime_shape(raw, limits)
    if depth > limits.max_depth:
        return depth_exceeded(limits)
    if parts > limits.max_parts:
        return parts_exceeded(limits)
    return None


def _within_shape_limits(raw: bytes, limits: ParseLimits) -> bool:
    """True when ``mime_shape`` cannot go past a limit, told by counting literals (a third of
    the cost of its scans, issue 3 round 2): every event of ``mime_shape`` starts with its
    literal at its own place (``boundary``, ``content-type:`` in the lower-cased copy,
    ``\\n--`` in ``raw``; none can overlap itself), the depth grows by one at most per
    declaration or message event, and the parts by one per delimiter event (at most one per
    four bytes)."""
    # A delimiter event is a match of ``_DELIMITER``, 4 bytes or more, and ``finditer``
    # never overlaps them: a message of 4 x max_parts bytes or less holds no more.
    if len(raw) // 4 > limits.max_parts and raw.count(b"\n--") > limits.max_parts:
        return False
    lower = raw.lower()
    return lower.count(b"boundary") + lower.count(b"content-type:") <= limits.max_depth


def mime_shape(raw: bytes, limits: ParseLimits = DEFAULT_LIMITS) -> tuple[int, int]:
    """(deepest nesting, number of parts) seen by following boundaries; stops past a limit."""
    lower = raw.lower()
    events: list[tuple[int, int, bytes]] = []  # (offset, kind, value): 0 declare, 1, 2 delimit
    for match in _DECLARATION.finditer(lower):
        start = match.start(1) if match.group(1) is not None else match.start(2)
        events.append(
            (match.start(), 0, raw[start : start + len(match.group(1) or match.group(2))])
        )
    events.extend((m.start(), 1, b"") for m in _MESSAGE.finditer(lower))
    events.extend((m.start(), 2, m.group(1).rstrip()) for m in _DELIMITER.finditer(raw))
    events.sort()
    stack: list[bytes | None] = []  # open boundaries; None marks a message/rfc822 level
    depth = parts = 0
    for _, kind, value in events:
        if kind == 0:
            if value not in stack:
                stack.append(value)
        elif kind == 1:
            stack.append(None)
        else:
            closing = value.endswith(b"--") and value[:-2] in stack
            name = value[:-2] if closing else value
            if name not in stack:
                continue  # text that merely starts with "--"
            del stack[stack.index(name) + (0 if closing else 1) :]
            parts += 0 if closing else 1
        depth = max(depth, len(stack))
        if depth > limits.max_depth or parts > limits.max_parts:
            break
    return depth, parts
