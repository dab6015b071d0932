"""Phrase patterns asked of one text after one scan for all their literals (issue 3).

``regex_literals.found`` asks a pattern's literals of the text one ``in`` at a time before
searching the alternatives that need them; ``classify`` asks some 30 patterns (the reason
phrase groups, the stages, greylisting) of each diagnostic, ~440 literals in all. A
``PhraseScan`` of those patterns finds, in one Aho-Corasick pass (``literal_scan``), every
literal the text holds (``present``); each pattern's ``found_in(text, present)`` then
searches only the groups of alternatives one of whose literals is in that set: the same
groups the ``in`` checks let through, so the regex decides every answer as before.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Set

from mailbounce.literal_scan import LiteralScan
from mailbounce.regex_literals import Alternatives, alternative_plan

__all__ = ["FoundIn", "PhraseScan", "found_in_finder"]

# ``found_in(text, present)``: ``regex_literals.found(pattern, text)`` given ``present``, the
# set of the pattern's literals that ``text`` holds: all of them and only them (literals
# of other patterns in the set do no harm).
FoundIn = Callable[[str, Set[str]], bool]


def found_in_finder(pattern: re.Pattern[str]) -> tuple[frozenset[str], FoundIn]:
    """The literals ``pattern``'s alternatives are gated by, and its ``found_in``."""
    plan = alternative_plan(pattern)
    by_literal: dict[str, list[Alternatives]] = {}
    for alternatives in plan:
        for literal in alternatives.literals:
            by_literal.setdefault(literal, []).append(alternatives)
    literals = frozenset(by_literal)
    # None: the literal is a whole alternative ("user unknown"), which matches wherever the
    # literal is (more than half of the phrase groups' alternatives): no regex to search.
    searches: dict[str, tuple[Alternatives, ...] | None] = {
        literal: None if any(_is_literal(one, literal) for one in each) else tuple(each)
        for literal, each in by_literal.items()
    }

    def found_in(text: str, present: Set[str]) -> bool:
        # ``frozenset.intersection`` walks the smaller set: most texts hold a few literals.
        for literal in literals.intersection(present):
            each = searches[literal]
            if each is None:
                return True
            for alternatives in each:
                if alternatives.search(text) is not None:
                    return True
        return False

    return literals, found_in


_SPECIAL = frozenset("\\.^$*+?{}[]()|#")  # (``#`` and blanks only matter under VERBOSE)


def _is_literal(alternatives: Alternatives, literal: str) -> bool:
    """Whether ``alternatives`` is the bare ``literal``: its source has no special
    character and is the literal itself, under flags that leave letters as they are."""
    return (
        alternatives.source == literal
        and literal != ""
        and not alternatives.flags & (re.IGNORECASE | re.VERBOSE)
        and _SPECIAL.isdisjoint(literal)
    )


class PhraseScan:
    """Patterns (and extra words) whose literals one scan of a text finds together."""

    __slots__ = ("_finders", "_scan", "literals")

    def __init__(self, patterns: Iterable[re.Pattern[str]], words: Iterable[str] = ()) -> None:
        self._finders: dict[int, tuple[re.Pattern[str], frozenset[str], FoundIn]] = {}
        every = set(words)
        for pattern in patterns:
            literals, found_in = found_in_finder(pattern)
            every |= literals
            self._finders[id(pattern)] = (pattern, literals, found_in)
        self.literals = frozenset(every)
        self._scan = LiteralScan(every)

    def present(self, text: str) -> set[str]:
        """The literals (of every pattern and word given) that ``text`` holds."""
        return self._scan.present(text)

    def finder(self, pattern: re.Pattern[str]) -> FoundIn:
        """``found_in`` of one of the patterns given (KeyError for another one)."""
        return self._entry(pattern)[2]

    def literals_of(self, pattern: re.Pattern[str]) -> frozenset[str]:
        """The literals one of which ``pattern``'s ``found_in`` needs in ``present``."""
        return self._entry(pattern)[1]

    def _entry(self, pattern: re.Pattern[str]) -> tuple[re.Pattern[str], frozenset[str], FoundIn]:
        entry = self._finders[id(pattern)]
        if entry[0] is not pattern:
            raise KeyError(pattern)
        return entry
