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
from collections.abc import Callable, Iterable, Mapping, Set
from re import _constants, _parser  # type: ignore[attr-defined]  # (the regex parser)
from typing import Any

from mailbounce.literal_scan import LiteralScan
from mailbounce.regex_literals import Alternatives, alternative_plan

__all__ = ["FoundIn", "PhrasePlan", "PhraseScan", "found_in_finder", "phrase_plan"]

# ``found_in(text, present)``: ``regex_literals.found(pattern, text)`` given ``present``, the
# set of the pattern's literals that ``text`` holds: all of them and only them (literals
# of other patterns in the set do no harm).
FoundIn = Callable[[str, Set[str]], bool]


# A pattern's phrase plan: what ``found_in`` needs, read from the pattern's source. First the
# texts whose presence alone answers yes (every text of a finite group, and literals that are
# a whole alternative), sorted; then the groups of alternatives whose regex is searched, each
# as (source, flags, the literals one of which the text must hold first), in pattern order.
PhrasePlan = tuple[tuple[str, ...], tuple[tuple[str, int, tuple[str, ...]], ...]]


def phrase_plan(pattern: re.Pattern[str]) -> PhrasePlan:
    """``pattern``'s phrase plan (the costly part of a finder: ``finite_texts`` runs the
    regex parser over every group; ``reason_plans`` holds the plans of classify's patterns)."""
    # A group that matches a finite set of texts ("mail ?box (is )?full": four) matches
    # exactly where one of them is: those texts are its literals, and no regex is searched.
    sure: set[str] = set()
    searched: list[Alternatives] = []
    for alternatives in alternative_plan(pattern):
        texts = finite_texts(alternatives)
        if texts is None:
            searched.append(alternatives)
        else:
            sure.update(texts)
    # A literal that is a whole alternative ("user unknown") matches wherever it is.
    sure.update(
        literal for one in searched for literal in one.literals if _is_literal(one, literal)
    )
    groups = []
    for one in searched:
        literals = tuple(literal for literal in one.literals if literal not in sure)
        if literals:  # else it is never searched: one of its literals answers first
            groups.append((one.source, one.flags, literals))
    return tuple(sorted(sure)), tuple(groups)


def found_in_finder(
    pattern: re.Pattern[str], plan: PhrasePlan | None = None
) -> tuple[frozenset[str], FoundIn]:
    """The literals ``pattern``'s alternatives are gated by, and its ``found_in``
    (``plan``: ``phrase_plan(pattern)``, when it was read before)."""
    answering, groups = phrase_plan(pattern) if plan is None else plan
    # None: the literal answers alone, without a regex to search.
    searches: dict[str, tuple[Alternatives, ...] | None] = dict.fromkeys(answering)
    by_literal: dict[str, list[Alternatives]] = {}
    for source, flags, needed in groups:
        alternatives = Alternatives(needed, source, flags)
        for literal in needed:
            by_literal.setdefault(literal, []).append(alternatives)
    searches.update((literal, tuple(each)) for literal, each in by_literal.items())
    literals = frozenset(searches)

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


_MAX_TEXTS = 256  # more texts than that: the regex is searched


def finite_texts(alternatives: Alternatives) -> frozenset[str] | None:
    """Every text the group of alternatives matches, when they are finitely many non-empty
    plain texts (literals, classes of letters, groups, alternations, bounded repeats; no
    anchor, look-around, ``\\b``, ``.`` or class escape); None otherwise."""
    if alternatives.flags & re.IGNORECASE or alternatives.literals == ("",):
        return None
    try:
        parsed = _parser.parse(alternatives.source, alternatives.flags)
    except re.error:
        return None
    texts = _texts_of(list(parsed))
    if texts is None or "" in texts:
        return None
    return frozenset(texts)


def _texts_of(items: list[tuple[Any, Any]]) -> set[str] | None:
    """The texts a parsed sequence matches, or None (not plain, or too many)."""
    texts = {""}
    for op, value in items:
        options = _options(op, value)
        if options is None:
            return None
        texts = {text + option for text in texts for option in options}
        if len(texts) > _MAX_TEXTS:
            return None
    return texts


def _options(op: Any, value: Any) -> set[str] | None:
    """The texts one parsed item matches, or None."""
    if op is _constants.LITERAL:
        return {chr(value)}
    if op is _constants.IN:
        if any(kind is not _constants.LITERAL for kind, _ in value):
            return None  # a range, a category, a negation
        return {chr(code) for _, code in value}
    if op is _constants.SUBPATTERN:
        _, add_flags, del_flags, inner = value
        return None if add_flags or del_flags else _texts_of(list(inner))
    if op is _constants.BRANCH:
        found: set[str] = set()
        for branch in value[1]:
            texts = _texts_of(list(branch))
            if texts is None:
                return None
            found |= texts
        return found
    if op is _constants.MAX_REPEAT or op is _constants.MIN_REPEAT:
        low, high, inner = value
        once = _texts_of(list(inner))
        if once is None or high > 4:
            return None
        found, texts = set(), {""}
        for count in range(high + 1):
            if count >= low:
                found |= texts
            texts = {text + more for text in texts for more in once}
            if len(texts) > _MAX_TEXTS:
                return None
        return found
    return None


class PhraseScan:
    """Patterns (and extra words) whose literals one scan of a text finds together."""

    __slots__ = ("_finders", "literals", "present")

    def __init__(
        self,
        patterns: Iterable[re.Pattern[str]],
        words: Iterable[str] = (),
        plans: Mapping[str, tuple[int, PhrasePlan]] | None = None,
    ) -> None:
        """``plans``: per pattern source, its flags and ``phrase_plan``, read before; a
        pattern whose source or flags are not there has its plan read now (same answers)."""
        self._finders: dict[int, tuple[re.Pattern[str], frozenset[str], FoundIn]] = {}
        every = set(words)
        for pattern in patterns:
            known = plans.get(pattern.pattern) if plans is not None else None
            plan = known[1] if known is not None and known[0] == pattern.flags else None
            literals, found_in = found_in_finder(pattern, plan)
            every |= literals
            self._finders[id(pattern)] = (pattern, literals, found_in)
        self.literals = frozenset(every)
        # ``present(text)``: the literals (of every pattern and word given) ``text`` holds;
        # the scan's own method, asked of every diagnostic without a frame of ours.
        self.present: Callable[[str], set[str]] = LiteralScan(every).present

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
