"""Cheap rejection before a regex scan: the literal text any match must contain.

Detectors recognise their MTA by markers such as ``re.compile(r"Axigen", re.I)`` or
``r"\\bHaraka\\b"``, asked of every message against long texts (Received headers). Most
messages hold none of them, and ``str.__contains__`` on a lower-cased copy made once is far
cheaper than a case-insensitive regex search (h12 profile: ~12,000 Received searches for 437
messages). ``required_literals`` reads from the pattern's source, conservatively, a literal
that starts every match of each top-level alternative; ``may_match`` says False only when
none of them is present, so the regex still decides every answer (results never change).
"""

from __future__ import annotations

import re

# Escapes that stand for one literal character (``\.``, ``\(``...): punctuation only.
_ESCAPED_LITERAL = frozenset(".()[]{}-/@:'\"+*?|^$ #%&=,;<>!~`_\\")
_PLAIN = frozenset(
    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 -_,:;'\"@/%&=<>!~`#"
)
_QUANTIFIERS = frozenset("?*{+")
_UNSUPPORTED_FLAGS = re.VERBOSE  # spaces and # are not literal there
_cache: dict[re.Pattern[str], tuple[str, ...] | None] = {}


def required_literals(pattern: re.Pattern[str]) -> tuple[str, ...] | None:
    """Literals, one per top-level alternative, one of which every match contains.

    Lower-cased when the pattern ignores case. None when the source is not read (an
    alternative starting with a group, a class or a quantifier): the caller then scans.
    """
    if pattern in _cache:
        return _cache[pattern]
    literals: tuple[str, ...] | None = None
    if not pattern.flags & _UNSUPPORTED_FLAGS:
        found = [_leading_literal(alt) for alt in _top_level_alternatives(pattern.pattern)]
        if found and all(found):
            ignore_case = bool(pattern.flags & re.IGNORECASE)
            literals = tuple(lit.lower() if ignore_case else lit for lit in found if lit)
    _cache[pattern] = literals
    return literals


def may_match(pattern: re.Pattern[str], text: str, lowered: str) -> bool:
    """False only when ``pattern`` cannot match ``text`` (``lowered`` is ``text.lower()``).

    Case-insensitive literals are compared with the lower-cased text only when it is ASCII:
    ``re.IGNORECASE`` also folds a few non-ASCII letters (``ſ``, ``K``, ``ı``) onto ASCII
    ones, which ``str.lower`` does not.
    """
    literals = required_literals(pattern)
    if literals is None:
        return True
    if pattern.flags & re.IGNORECASE:
        if not text.isascii():
            return True
        text = lowered
    return any(literal in text for literal in literals)


def search(pattern: re.Pattern[str], text: str, lowered: str | None) -> re.Match[str] | None:
    """``pattern.search(text)``, trying the regex only where a required literal starts.

    Every match of an alternative starts with its literal (a leading ``\\b`` or ``^`` is
    checked by the regex itself, tried there), so the leftmost position where the pattern
    matches is among those positions, tried in order. ``lowered`` is ``text.lower()``, None
    for non-ASCII text.
    """
    literals = required_literals(pattern)
    if literals is None or (pattern.flags & re.IGNORECASE and lowered is None):
        return pattern.search(text)
    haystack = lowered if pattern.flags & re.IGNORECASE and lowered is not None else text
    next_at = {literal: haystack.find(literal) for literal in literals}
    while True:
        found = [at for at in next_at.values() if at != -1]
        if not found:
            return None
        at = min(found)
        match = pattern.match(text, at)
        if match:
            return match
        for literal, position in next_at.items():
            if position == at:
                next_at[literal] = haystack.find(literal, at + 1)


def _top_level_alternatives(source: str) -> list[str]:
    """``source`` split at the ``|`` outside groups and classes (escapes respected)."""
    parts: list[str] = []
    depth, start, index, in_class = 0, 0, 0, False
    while index < len(source):
        char = source[index]
        if char == "\\":
            index += 2
            continue
        if in_class:
            in_class = char != "]"
        elif char == "[":
            in_class = True
        elif char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
        elif char == "|" and depth == 0:
            parts.append(source[start:index])
            start = index + 1
        index += 1
    parts.append(source[start:])
    return parts


def _leading_literal(alternative: str) -> str:
    """The literal text every match of ``alternative`` starts with ("" when none is sure)."""
    index = 0
    while True:  # zero-width assertions the regex itself checks where it is tried
        if alternative.startswith("\\b", index):
            index += 2
        elif alternative.startswith("^", index):
            index += 1
        else:
            break
    chars: list[str] = []
    while index < len(alternative):
        char = alternative[index]
        if char == "\\" and index + 1 < len(alternative):
            escaped = alternative[index + 1]
            if escaped not in _ESCAPED_LITERAL:
                break  # \d, \w, \s, \b, \n...: a class or an assertion, not a literal
            chars.append(escaped)
            index += 2
        elif char in _PLAIN:
            chars.append(char)
            index += 1
        else:
            if char in _QUANTIFIERS and chars:
                chars.pop()  # the last character is optional or repeated: not sure
            break
        if index < len(alternative) and alternative[index] in _QUANTIFIERS:
            if chars:
                chars.pop()
            break
    return "".join(chars)
