"""A diagnostic's text as classification reads it, and the codes in it (issue 3: moved out of
``mailbounce.classify``, which reads them through these functions).

``normalise`` gives the one text every phrase of ``reason_rules`` is asked of; the
enhanced status (RFC 3463) and the reply code (RFC 5321) are read from a text here too, by
``classify`` and by the detectors.
"""

from __future__ import annotations

import re

__all__ = ["find_enhanced_status", "find_reply_code", "normalise"]

# An enhanced code ``\b[245]\.\d{1,3}\.\d{1,3}\b`` and a reply line's codes
# ``\b[245]\d\d[ -]<enhanced> ``. ``\b[245]`` is written ``[245](?<!\w[245])`` (the same
# matches): a leading ``\b`` makes the regex engine try every position (issue 3).
_CONTINUATION = re.compile(r"[245](?<!\w[245])\d\d[ -][245]\.\d{1,3}\.\d{1,3} ")
# The same two found from their first dot (each match starts 1, resp. 5, characters later
# and ends where the plain form's ends): a pattern that starts with a literal lets the engine
# skip to it in a tight loop, one that starts with a class tests each character in a call of
# its own (session 9: most of the regex time of ``normalise``). ``_CONTINUATION`` itself
# rewrites the rare replies of several lines.
_ENHANCED_DOT = re.compile(r"\.(?<=[245]\.)(?<!\w[245]\.)(\d{1,3})\.(\d{1,3})\b")
_CONTINUATION_DOT = re.compile(
    r"\.(?<=[245]\d\d[ -][245]\.)(?<!\w[245]\d\d[ -][245]\.)\d{1,3}\.\d{1,3} "
)
_REPLY = re.compile(r"^\s*([245]\d\d)(?![\d.])")


def find_enhanced_status(text: str) -> str | None:
    """The first RFC 3463 enhanced status code in ``text`` (e.g. ``5.1.1``), or None."""
    match = _ENHANCED_DOT.search(text)  # (the first code, from its dot)
    return text[match.start() - 1 : match.end()] if match else None


def find_reply_code(text: str) -> str | None:
    """The SMTP reply code that starts ``text`` (e.g. ``550``), or None."""
    match = _REPLY.match(text)
    return match.group(1) if match else None


def normalise(diagnostic: str) -> str:
    """Lower case, one space, and multi-line replies joined: "550-5.7.1 text 550-5.7.1 more"
    reads "550-5.7.1 text more" so phrases split over reply lines still match."""
    # str.split and re's \s agree on what whitespace is (Py_UNICODE_ISSPACE); 3x cheaper.
    text = " ".join(diagnostic.split()).lower()
    dot = _ENHANCED_DOT.search(text)
    if dot is None:
        # Nothing to join or drop: each continuation holds an enhanced code (its status
        # digit follows " " or "-" and its digits a blank, so ``_ENHANCED_DOT`` matches).
        return text
    status, status_end = text[dot.start() - 1 : dot.end()], dot.end()  # the first code
    first = _CONTINUATION_DOT.search(text)
    if first is None:
        return _without_repeated_status(text, status, status_end)
    end = first.end()
    # Most replies hold one continuation (their own code): nothing to join after it. (The
    # search from ``end`` finds what one of ``text[end:]`` finds: the character before is
    # the continuation's closing blank, which the look-behind does not match.)
    if _CONTINUATION_DOT.search(text, end + 5) is None:
        return _without_repeated_status(text, status, status_end)
    joined = text[:end] + _CONTINUATION.sub(" ", text[end:]).replace("  ", " ")
    # The same first code: it ends by the end of the first continuation (its own code, or
    # one before it: digits and dots cannot span that continuation's " " or "-"), followed
    # by the same character, and the text up to there is kept.
    return _without_repeated_status(joined, status, status_end)


def _without_repeated_status(text: str, status: str, end: int) -> str:
    """A multi-line reply whose relay kept only the enhanced code of each line ("552 5.7.0
    text 5.7.0 more", Sendmail quoting Gmail) reads as one sentence: repeats dropped.
    ``status``: the first enhanced code of ``text``, ending at ``end``."""
    if text.count(status) < 2:
        return text
    return text[:end] + _repeated(status).sub("", text[end:])


_REPEATS: dict[str, re.Pattern[str]] = {}  # per status code: a handful per run, capped


def _repeated(status: str) -> re.Pattern[str]:
    """The repeats of ``status`` after the first: " 5.7.0" followed by a blank."""
    pattern = _REPEATS.get(status)
    if pattern is None:
        if len(_REPEATS) >= 256:
            _REPEATS.clear()  # hostile mail with ever new codes must not grow it
        pattern = _REPEATS[status] = re.compile(rf" {re.escape(status)}(?= )")
    return pattern
