"""What every detector sees (``Mail``) and the one Protocol detectors implement.

Messages are parsed with the ``compat32`` policy: about 7x faster than the default policy on
bounce mail (issue 3), and it never raises on broken headers. Decoding is done lazily here,
best effort, never raising.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from email._policybase import compat32  # email.policy's, without importing email.policy
from email.errors import HeaderParseError
from email.header import decode_header, make_header
from email.message import Message
from typing import Any, Protocol, cast

from mailbounce.models import BounceFacts


def decode_header_text(value: object) -> str:
    """A header's text with RFC 2047 words decoded; never raises."""
    if value is None:
        return ""
    text = str(value)
    if "=?" not in text:
        return text
    try:
        return str(make_header(decode_header(text)))
    except (ValueError, LookupError, UnicodeError, AssertionError, HeaderParseError):
        return text


# ``type/subtype; charset=value`` and nothing else (the usual header): the charset the
# standard library's parameter parser gives for it is the value lower-cased (quotes off).
_SIMPLE_CHARSET = re.compile(
    r'\s*[\w.+/-]+\s*;\s*(?i:charset)\s*=\s*(?:"([\w.:+-]+)"|([\w.:+-]+))\s*', re.ASCII
)


def content_charset(part: Message) -> str | None:
    """``part.get_content_charset()``: read directly from a plain ``Content-Type`` value
    (the standard library's parameter parser cost ~4% of bounce analysis, issue 3), else
    asked of the standard library."""
    value = part.get("content-type")
    if value is None:
        return None  # no Content-Type: no parameter (most DSN groups, many single parts)
    if isinstance(value, str):
        match = _SIMPLE_CHARSET.fullmatch(value)
        if match:
            return (match.group(1) or match.group(2)).lower()
        if ";" not in value and "=" not in value and value.strip().lower() != "charset":
            # The type alone ("text/rfc822-headers"): the library's one "parameter" is the
            # value itself, a bare attribute named "charset" only for that very word.
            return None
    try:
        return part.get_content_charset()
    except (TypeError, ValueError, LookupError):
        # Broken RFC 2231 parameters (``charset*0=; charset*``) make the standard library
        # raise: no charset, the caller's fallbacks decode the text (best effort, issue 3).
        return None


def header_items(msg: Message) -> list[tuple[str, Any]]:
    """``msg.items()``: under compat32 an ASCII value is what the policy returns for it, so
    only the others go through the policy call (issue 3: report groups, returned headers)."""
    if msg.policy is not compat32:
        return msg.items()
    fetch = compat32.header_fetch_parse
    return [
        (name, value if isinstance(value, str) and value.isascii() else fetch(name, value))
        for name, value in msg.raw_items()
    ]


# Charsets that decode every ASCII byte to the same character (a test checks each): an
# ASCII payload in one of them is its own text (RFC 2045 7bit/8bit bodies, most bounces).
ASCII_TRANSPARENT = frozenset(
    ["us-ascii", "ascii", "utf-8", "utf8", "latin1", "latin-1", "cp1252", "windows-1252"]
    + [f"iso-8859-{n}" for n in (*range(1, 12), *range(13, 17))]
    + [f"windows-{n}" for n in range(1250, 1259)]
    + [f"cp{n}" for n in range(1250, 1259)]
    + ["koi8-r", "koi8-u", "gb2312", "gbk", "gb18030", "big5", "euc-jp", "euc-kr"]
)
# The transfer encodings ``get_payload(decode=True)`` decodes; any other leaves the bytes.
_DECODED_CTES = frozenset({"quoted-printable", "base64", "x-uuencode", "uuencode", "uue", "x-uue"})


def part_text(part: Message) -> str:
    """A text part's payload decoded with its charset (cp1252/utf-8 fallbacks), LF endings."""
    if not part.is_multipart():
        raw = part._payload  # type: ignore[attr-defined]  # what get_payload() starts from
        if (
            isinstance(raw, str)
            and raw.isascii()
            and str(part.get("content-transfer-encoding", "")).lower() not in _DECODED_CTES
            and (content_charset(part) or "utf-8") in ASCII_TRANSPARENT
        ):
            # ``get_payload(decode=True)`` is ``raw.encode("ascii")`` here (no surrogates in
            # ASCII text, no transfer decoding), and decoding those bytes with this charset
            # gives ``raw`` back: skip both copies (issue 3, round 3 profile).
            return raw.replace("\r\n", "\n").replace("\r", "\n") if "\r" in raw else raw
    return decoded_part_text(part)


def decoded_part_text(part: Message) -> str:
    """``part_text`` the general way: transfer-decoded bytes, then the charset (the
    reference its ASCII shortcut is tested against)."""
    payload = part.get_payload(decode=True)
    if not isinstance(payload, bytes):
        raw = part.get_payload()
        return raw if isinstance(raw, str) else ""
    charset = content_charset(part) or "utf-8"
    for candidate in (charset, "utf-8", "cp1252"):
        try:
            text = payload.decode(candidate)
            break
        except (LookupError, UnicodeDecodeError):
            continue
    else:
        text = payload.decode("latin-1")
    return text.replace("\r\n", "\n").replace("\r", "\n")


def walk_parts(msg: Message) -> list[Message]:
    """``list(msg.walk())`` without a generator per part: depth first, in document order
    (``walk`` yields a part, then walks each of its payload's parts in turn)."""
    found: list[Message] = []
    stack = [msg]
    while stack:
        part = stack.pop()
        found.append(part)
        # ``is_multipart()`` and ``get_payload()`` read ``_payload``: read once, no calls.
        payload = part._payload  # type: ignore[attr-defined]
        if isinstance(payload, list):
            stack.extend(reversed(cast("list[Message]", payload)))  # its parts
    return found


@dataclass
class Mail:
    """One message under analysis, with cached decoded views for detectors."""

    msg: Message
    _cache: dict[str, str] = field(default_factory=dict, repr=False)
    _parts: list[tuple[Message, str]] | None = field(default=None, repr=False)
    _dsn: list[BounceFacts] | None = field(default=None, repr=False)
    # Field texts and their exact lower-cased forms for detector gates (``_markers``).
    _views: dict[str, tuple[str, str | None]] = field(default_factory=dict, repr=False)
    _texts: dict[int, str] = field(default_factory=dict, repr=False)
    # Decoded header values by the name as asked ("From", "x-mailer": ``get`` ignores case).
    _headers: dict[str, str] = field(default_factory=dict, repr=False)

    def __init__(self, msg: Message) -> None:
        # Kept by ``@dataclass`` (defined here): the caches made as literals, not through
        # the generated ``__init__``'s default-factory calls and checks (~2 k instructions
        # fewer a message, callgrind). Every caller passes the message alone.
        self.msg = msg
        self._cache = {}
        self._parts = None
        self._dsn = None
        self._views = {}
        self._texts = {}
        self._headers = {}

    def parts(self) -> list[tuple[Message, str]]:
        """Every part in document order with its content type, computed once per message
        (compat32 re-parses Content-Type on each ``get_content_type`` call)."""
        if self._parts is None:
            msg = self.msg
            # The fast splitter lists the parts below the top as it makes them (issue 3:
            # no second walk, no type asked again); the feedparser's trees are walked.
            below = getattr(msg, "_parts_below", None)
            if below is not None:
                self._parts = [(msg, msg.get_content_type()), *below]
            else:
                self._parts = [(part, part.get_content_type()) for part in walk_parts(msg)]
        return self._parts

    def part_text(self, part: Message) -> str:
        """``part_text(part)`` decoded once per message (the body and the returned original's
        scans read the same parts)."""
        text = self._texts.get(id(part))
        if text is None:
            text = self._texts[id(part)] = part_text(part)
        return text

    def header(self, name: str) -> str:
        """A header's decoded text ("" when absent), decoded once per message.

        Every detector asks for From and Subject first: compat32's ``get`` scans the header
        list each time, so the decoded values are cached, by the name as asked (the gates
        and detectors ask ~20 times a message: no key to build each time, round 3).
        """
        cached = self._headers.get(name)
        if cached is None:
            value = self.msg.get(name)
            # ``decode_header_text`` inlined for a plain value, the usual one (~7 names
            # decoded a message): its text is itself.
            if value.__class__ is str and "=?" not in value:
                cached = value
            else:
                cached = decode_header_text(value)
            self._headers[name] = cached
        return cached

    @property
    def subject(self) -> str:
        return self.header("Subject")

    @property
    def sender(self) -> str:
        return self.header("From")


class Detector(Protocol):
    """One MTA family's layout: facts per recipient, or None when the mail is not its own.

    Detection extracts facts; ``mailbounce.classify`` names the reason (Sisimai's split).
    A detector may also have a ``gate(mail) -> bool`` (``GatedDetector``).
    """

    name: str

    def detect(self, mail: Mail) -> list[BounceFacts] | None: ...


class GatedDetector(Detector, Protocol):
    """A detector with a cheap, exact pre-check (issue 3: ~70 detectors are asked in turn).

    ``gate`` answers False only when ``detect`` would surely return None: it asks the same
    patterns of the same fields as the first test ``detect`` makes, through the lower-cased
    views cached on ``Mail`` (``_markers.present_text``, ``_mailtexts.body_lowered``...),
    never from what the corpus happens to hold. The registry order and the first-match rule
    are unchanged.
    """

    def gate(self, mail: Mail) -> bool: ...


Gate = Callable[[Mail], bool]


def gate_of(detector: Detector) -> Gate | None:
    """The detector's gate, or None when it has none (it is then always asked)."""
    gate = getattr(detector, "gate", None)
    return gate if callable(gate) else None
