"""Cheap rejection before a regex scan: the literal text any match must contain.

Detectors recognise their MTA by markers such as ``lazy_compile(r"Axigen", re.I)`` or
``r"\\bHaraka\\b"``, asked of every message against long texts (Received headers). Most
messages hold none of them, and ``str.__contains__`` on a lower-cased copy made once is far
cheaper than a case-insensitive regex search (h12 profile: ~12,000 Received searches for 437
messages). ``required_literals`` reads from the pattern's source, conservatively, a literal
that starts every match of each top-level alternative; ``may_match`` says False only when
none of them is present, so the regex still decides every answer (results never change).
"""

from __future__ import annotations

import re

from mailbounce.regex_literals import PerPattern, leading_literals, required_literals

__all__ = [
    "folded",
    "folds_exactly",
    "leading_literals",
    "may_match",
    "required_literals",
    "search",
    "search_text",
]

# The only characters ``re.IGNORECASE`` matches with an ASCII letter, or that ``str.lower``
# maps onto ASCII or onto more than one character (a test checks all of Unicode). In a text
# without them, ``str.lower`` folds every character as the regex does, one for one, accents
# and all: French bounces are rarely ASCII.
_FOLDS_ONTO_ASCII = ("\u0130", "\u0131", "\u017f", "\u212a")  # İ ı ſ K (Kelvin)


def folded(text: str) -> str | None:
    """``text.lower()`` when it folds as ``re.IGNORECASE`` does, position for position, so
    literal checks on it are exact; None when the regex must scan the text itself."""
    if len(text) >= _RECALLED_LENGTH:
        recalled = _recent.get(id(text))
        if recalled is not None and recalled[0] is text:
            return recalled[1]
        low = text.lower() if text.isascii() or folds_exactly(text) else None
        if len(_recent) >= _RECENT_COUNT:
            try:
                del _recent[next(iter(_recent))]  # the oldest
            except (KeyError, StopIteration, RuntimeError):  # another thread's eviction
                _recent.clear()
        _recent[id(text)] = (text, low)
        return low
    if text.isascii() or folds_exactly(text):  # the usual case first, without a call
        return text.lower()
    return None


# The last long texts lowered, by identity (the entry holds the text: its id cannot be
# reused while there). A detector's look-ups lower the very body text the gates' view
# lowered or its previous look-up did (~0.9 a message, 40% of the characters lowered; a
# non-ASCII text lowers ~20x slower than an ASCII one). Short texts (headers) are lowered
# again: the look-up would cost about as much.
_RECALLED_LENGTH = 256
_RECENT_COUNT = 4
_recent: dict[int, tuple[str, str | None]] = {}


def folds_exactly(text: str) -> bool:
    """Whether ``text.lower()`` folds ``text`` as ``re.IGNORECASE`` does (``folded``)."""
    # The four look-ups written out: a generator per call cost more than they do (round 4).
    return text.isascii() or not (
        "\u0130" in text or "\u0131" in text or "\u017f" in text or "\u212a" in text
    )


# Per pattern, read once (h12 profile: ``pattern.flags & re.IGNORECASE`` on every call cost
# as much as the checks it guards): whether it ignores case, its required literals and its
# leading literals.
_facts_of = PerPattern(
    lambda pattern: (
        bool(pattern.flags & re.IGNORECASE),
        required_literals(pattern),
        leading_literals(pattern),
    )
)


def may_match(pattern: re.Pattern[str], text: str, lowered: str) -> bool:
    """False only when ``pattern`` cannot match ``text`` (``lowered`` is ``text.lower()``).

    Case-insensitive literals are compared with the lower-cased text only when it folds as
    the regex does (``folded``): ``re.IGNORECASE`` also folds a few non-ASCII letters
    (``ſ``, ``K``, ``ı``) onto ASCII ones, which ``str.lower`` does not.
    """
    ignores_case, literals, _ = _facts_of(pattern)
    if literals is None:
        return True
    if ignores_case:
        if not folds_exactly(text):
            return True
        text = lowered
    return any(literal in text for literal in literals)


def search_text(pattern: re.Pattern[str], text: str) -> re.Match[str] | None:
    """``search`` for a text with no lower-cased copy at hand (made only when needed)."""
    return search(pattern, text, folded(text) if _facts_of(pattern)[0] else None)


def search(
    pattern: re.Pattern[str], text: str, lowered: str | None, start: int = 0
) -> re.Match[str] | None:
    """``pattern.search(text, start)``, trying the regex only where a required literal starts.

    Every match of an alternative starts with its literal (a leading ``\\b`` or ``^`` is
    checked by the regex itself, tried there), so the leftmost position where the pattern
    matches is among those positions, tried in order. ``lowered`` is ``folded(text)``.
    Without a leading literal in every alternative, the regex scans the whole text unless a
    literal every match needs is absent.
    """
    ignores_case, required, literals = _facts_of(pattern)
    if ignores_case:
        if lowered is None:
            return pattern.search(text, start)
        haystack = lowered
    else:
        haystack = text
    if literals is None:
        if required is not None and not any(literal in haystack for literal in required):
            return None
        return pattern.search(text, start)
    if len(literals) == 1:
        # One literal: its positions in order, without the bookkeeping below (same tries).
        literal = literals[0]
        at = haystack.find(literal, start)
        while at != -1:
            match = pattern.match(text, at)
            if match:
                return match
            at = haystack.find(literal, at + 1)
        return None
    # Each literal's next position; a literal found no more is dropped (most texts hold
    # none: the loop ends before any regex).
    next_at: dict[str, int] = {}
    for literal in literals:
        position = haystack.find(literal, start)
        if position != -1:
            next_at[literal] = position
    while next_at:
        at = min(next_at.values())
        match = pattern.match(text, at)
        if match:
            return match
        for literal, position in list(next_at.items()):
            if position == at:
                following = haystack.find(literal, at + 1)
                if following == -1:
                    del next_at[literal]
                else:
                    next_at[literal] = following
    return None
