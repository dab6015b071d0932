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
_cache: dict[tuple[re.Pattern[str], bool], tuple[str, ...] | None] = {}


def required_literals(pattern: re.Pattern[str]) -> tuple[str, ...] | None:
    """Literals, one per top-level alternative, one of which every match contains.

    Lower-cased when the pattern ignores case. None when the source is not read (an
    alternative without a literal the reader is sure of): the caller then scans.
    """
    return _literals(pattern, leading=False)


def leading_literals(pattern: re.Pattern[str]) -> tuple[str, ...] | None:
    """Like ``required_literals``, but each literal starts every match of its alternative."""
    return _literals(pattern, leading=True)


def _literals(pattern: re.Pattern[str], *, leading: bool) -> tuple[str, ...] | None:
    key = (pattern, leading)
    if key in _cache:
        return _cache[key]
    literals: tuple[str, ...] | None = None
    if not pattern.flags & _UNSUPPORTED_FLAGS:
        read = _leading_literal if leading else _longest_literal
        found = [read(alt) for alt in _top_level_alternatives(pattern.pattern)]
        if all(found):
            ignore_case = bool(pattern.flags & re.IGNORECASE)
            literals = tuple(lit.lower() if ignore_case else lit for lit in found)
    _cache[key] = literals
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
    for non-ASCII text. Without a leading literal in every alternative, the regex scans the
    whole text unless a literal every match needs is absent.
    """
    if pattern.flags & re.IGNORECASE and lowered is None:
        return pattern.search(text)
    haystack = lowered if pattern.flags & re.IGNORECASE and lowered is not None else text
    literals = leading_literals(pattern)
    if literals is None:
        required = required_literals(pattern)
        if required is not None and not any(literal in haystack for literal in required):
            return None
        return pattern.search(text)
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
    runs, leading = _literal_runs(alternative)
    return runs[0] if runs and leading else ""


def _longest_literal(alternative: str) -> str:
    """The longest literal text every match of ``alternative`` contains ("" when none)."""
    runs, _ = _literal_runs(alternative)
    return max(runs, key=len, default="")


def _literal_runs(alternative: str) -> tuple[list[str], bool]:
    """The runs of literal characters every match of ``alternative`` holds, in order, and
    whether the first run starts every match (only ``\\b`` or ``^`` before it).

    Read at the top level only: a group, a class, an escape such as ``\\d`` or ``.`` ends a
    run; a character under ``?``, ``*`` or ``{`` is left out, one under ``+`` ends its run.
    """
    runs: list[str] = []
    chars: list[str] = []
    leading = False
    widths_before = False  # an item that takes characters, before the first run
    index = 0
    while index < len(alternative):
        literal, end = _item(alternative, index)
        quantifier = alternative[end : end + 1]
        quantifier = quantifier if quantifier in _QUANTIFIERS else ""
        after = _after_quantifier(alternative, end)
        if literal is not None and quantifier in ("", "+"):
            if not runs and not chars:
                leading = not widths_before
            chars.append(literal)
            if quantifier == "+":
                runs.append("".join(chars))
                chars = []
        else:
            if chars:
                runs.append("".join(chars))
                chars = []
            zero_width = alternative[index:end] in ("\\b", "^") and quantifier == ""
            if not zero_width and not runs:
                widths_before = True
        index = after
    if chars:
        runs.append("".join(chars))
    return runs, leading and bool(runs)


def _item(source: str, index: int) -> tuple[str | None, int]:
    """The top-level item at ``index``: its literal character (None for a group, a class,
    an escape class or assertion, ``.``, ``^``, ``$``) and where it ends."""
    char = source[index]
    if char == "\\":
        escaped = source[index + 1 : index + 2]
        return (escaped if escaped and escaped in _ESCAPED_LITERAL else None), index + 2
    if char == "[":
        end = index + 1
        if source[end : end + 1] == "^":
            end += 1
        if source[end : end + 1] == "]":
            end += 1  # a "]" first in a class is a member
        while end < len(source) and source[end] != "]":
            end += 2 if source[end] == "\\" else 1
        return None, end + 1
    if char == "(":
        depth, end = 0, index
        while end < len(source):
            if source[end] == "\\":
                end += 2
                continue
            if source[end] == "[":
                _, end = _item(source, end)
                continue
            depth += {"(": 1, ")": -1}.get(source[end], 0)
            end += 1
            if depth == 0:
                break
        return None, end
    return (char if char in _PLAIN else None), index + 1


def _after_quantifier(source: str, index: int) -> int:
    """Where the item's quantifier (with its lazy ``?`` or possessive ``+``) ends."""
    if index >= len(source) or source[index] not in _QUANTIFIERS:
        return index
    if source[index] == "{":
        close = source.find("}", index)
        index = len(source) if close == -1 else close + 1
    else:
        index += 1
    if index < len(source) and source[index] in "?+":
        index += 1
    return index
