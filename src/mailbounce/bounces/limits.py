"""Safety limits checked on the raw bytes before the full MIME parse (issue 3, "Safety limits").

A hostile or broken message must not cost unbounded time or memory: the size, the header block,
the MIME nesting depth and the number of parts are capped, with a cheap scan of the raw bytes
(boundary declarations and delimiter lines) instead of a parse.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_BOUNDARY_DECL = re.compile(rb'boundary\s*=\s*(?:"([^"\r\n]{1,200})"|([^\s;"]{1,200}))', re.I)
_MESSAGE_PART = re.compile(rb"^content-type:\s*message/(?:rfc822|global)\b", re.I | re.M)


@dataclass(frozen=True, slots=True)
class ParseLimits:
    """Caps for one message; each is configurable (config section ``bounces``)."""

    max_message_bytes: int = 20 * 1024 * 1024
    max_header_bytes: int = 1024 * 1024
    max_depth: int = 16
    max_parts: int = 1000


DEFAULT_LIMITS = ParseLimits()


def limit_exceeded(raw: bytes, limits: ParseLimits = DEFAULT_LIMITS) -> str | None:
    """Why ``raw`` is over a limit (one line for the quarantine), or None when it is within."""
    if len(raw) > limits.max_message_bytes:
        return f"message is {len(raw)} bytes, over the {limits.max_message_bytes}-byte limit"
    end = raw.find(b"\n\n")
    header_bytes = len(raw) if end < 0 else end
    if header_bytes > limits.max_header_bytes:
        return f"header block is over the {limits.max_header_bytes}-byte limit"
    boundaries = {(m.group(1) or m.group(2)) for m in _BOUNDARY_DECL.finditer(raw)}
    nested_messages = len(_MESSAGE_PART.findall(raw))
    # Each multipart declares a boundary and each message/rfc822 adds a level: their sum bounds
    # the nesting depth from above, which is all the parser needs to stay within its recursion.
    depth = len(boundaries) + nested_messages
    if depth > limits.max_depth:
        return f"MIME nesting depth may reach {depth}, over the limit of {limits.max_depth}"
    parts = 0
    for boundary in boundaries:
        parts += raw.count(b"\n--" + boundary)
        if parts > limits.max_parts:
            return f"more than {limits.max_parts} MIME parts"
    return None
