"""Safety limits checked on the raw bytes before the full MIME parse (issue 3, "Safety limits").

A hostile or broken message must not cost unbounded time, memory or recursion: the size, the
header block, the MIME nesting depth and the number of parts are capped. Depth and parts come
from one regex pass over the raw bytes that follows boundary declarations, delimiter lines and
``message/rfc822`` headers, never from a parse.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_EVENTS = re.compile(
    rb'(?P<decl>boundary\s*=\s*(?:"(?P<quoted>[^"\n]{1,200})"|(?P<bare>[^\s;"]{1,200})))'
    rb"|(?P<message>^content-type:[ \t]*message/(?:rfc822|global)\b)"
    rb"|(?P<delim>^--(?P<line>[^\n]{1,210})$)",
    re.IGNORECASE | re.MULTILINE,
)


@dataclass(frozen=True, slots=True)
class ParseLimits:
    """Caps for one message; each is configurable (config section ``bounces``)."""

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


def limit_exceeded(raw: bytes, limits: ParseLimits = DEFAULT_LIMITS) -> str | None:
    """Why ``raw`` (LF line endings) is over a limit, as one line, or None when within."""
    problem = size_exceeded(raw, limits)
    if problem is not None:
        return problem
    end = raw.find(b"\n\n")
    if (len(raw) if end < 0 else end) > limits.max_header_bytes:
        return f"header block is over the {limits.max_header_bytes}-byte limit"
    depth, parts = mime_shape(raw, limits)
    if depth > limits.max_depth:
        return f"MIME nesting depth over the limit of {limits.max_depth}"
    if parts > limits.max_parts:
        return f"more than {limits.max_parts} MIME parts"
    return None


def mime_shape(raw: bytes, limits: ParseLimits = DEFAULT_LIMITS) -> tuple[int, int]:
    """(deepest nesting, number of parts) seen by following boundaries; stops past a limit."""
    stack: list[bytes | None] = []  # open boundaries; None marks a message/rfc822 level
    depth = parts = 0
    for event in _EVENTS.finditer(raw):
        if event.group("decl"):
            boundary = event.group("quoted") or event.group("bare")
            if boundary not in stack:
                stack.append(boundary)
        elif event.group("message"):
            stack.append(None)
        else:
            line = event.group("line").rstrip()
            closing = line.endswith(b"--") and line[:-2] in stack
            name = line[:-2] if closing else line
            if name not in stack:
                continue  # text that merely starts with "--"
            del stack[stack.index(name) + (0 if closing else 1) :]
            parts += 0 if closing else 1
        depth = max(depth, len(stack))
        if depth > limits.max_depth or parts > limits.max_parts:
            break
    return depth, parts
