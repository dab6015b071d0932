"""The phrase tables of ``mailbounce.classify``: every phrase pattern it asks of a diagnostic,
behind one scan of the diagnostic's literals (``phrase_scan``), built once on first use.
"""

from __future__ import annotations

from mailbounce.models import Reason
from mailbounce.phrase_scan import FoundIn, PhraseScan, phrase_plan
from mailbounce.reason_providers import DIAGNOSTIC_WORDS
from mailbounce.reason_rules import (
    FIRST_ORDER,
    GREYLISTING,
    NOT_USERUNKNOWN,
    PHRASES,
    RETRY_LATER,
    SECOND_ORDER,
    STAGES,
)

__all__ = [
    "BIT",
    "FIRST_BIT",
    "FIRST_BITS",
    "PATTERNS",
    "SECOND_BITS",
    "TABLES",
    "PhraseTables",
    "plans_source",
    "tables",
]

# Every pattern classification asks of a diagnostic's text, behind one scan.
PATTERNS = (*PHRASES.values(), GREYLISTING, RETRY_LATER, *(pattern for pattern, _ in STAGES))

_FirstStep = tuple[Reason, FoundIn, bool, bool, bool]
_SecondStep = tuple[Reason, FoundIn]


class PhraseTables:
    """Every phrase pattern classification asks, behind one scan of the text's literals.

    Per reason of ``FIRST_ORDER``: its phrase group's ``found_in`` and whether its phrases
    override a 5.1.1 (``NOT_USERUNKNOWN``); per reason of ``SECOND_ORDER``, its ``found_in``.
    """

    __slots__ = (
        "bits",
        "first",
        "first_steps",
        "greylisting",
        "phrase",
        "retry_later",
        "scan",
        "second",
        "stage_literals",
        "stages",
    )

    def __init__(self) -> None:
        from mailbounce.reason_plans import PLANS  # (a generated table, read when first used)

        self.scan = scan = PhraseScan(PATTERNS, DIAGNOSTIC_WORDS, PLANS)
        self.phrase = phrase = {reason: scan.finder(pattern) for reason, pattern in PHRASES.items()}
        self.first: tuple[_FirstStep, ...] = tuple(
            (
                reason,
                phrase[reason],
                reason in NOT_USERUNKNOWN,
                reason is Reason.USERUNKNOWN or reason is Reason.FILTERED,
                reason is Reason.MESGTOOBIG,
            )
            for reason in FIRST_ORDER
        )
        self.second: tuple[_SecondStep, ...] = tuple(
            (reason, phrase[reason]) for reason in SECOND_ORDER
        )
        self.greylisting = scan.finder(GREYLISTING)
        self.retry_later = scan.finder(RETRY_LATER)
        self.stages = tuple((scan.finder(pattern), command) for pattern, command in STAGES)
        self.stage_literals = frozenset(
            literal for pattern, _ in STAGES for literal in scan.literals_of(pattern)
        )
        # Per literal of the scan: the bits (``BIT``) of the phrase groups it lets search.
        self.bits = dict.fromkeys(scan.literals, 0)
        for reason, bit in BIT.items():
            for literal in scan.literals_of(PHRASES[reason]):
                self.bits[literal] |= bit
        # The first-order steps to walk, per key (``_first_order``): a few dozen keys met.
        self.first_steps: dict[int, tuple[_FirstStep, ...]] = {}

    def first_steps_of(self, key: int) -> tuple[_FirstStep, ...]:
        """The steps of ``first`` that may hold for ``key`` (bits of ``BIT``: the phrase
        groups a text's literals let search, and the reason its status names): a step's
        own bit, or for filtered, whose ``_holds`` also counts unknown-user words, that one."""
        steps = tuple(step for step in self.first if key & _NEEDS.get(step[0], BIT[step[0]]))
        if len(self.first_steps) >= 4096:
            self.first_steps.clear()  # hostile mail with ever new words must not grow it
        self.first_steps[key] = steps
        return steps


# One bit per phrase group asked in order: ``FIRST_ORDER`` then ``SECOND_ORDER``.
BIT = {reason: 1 << index for index, reason in enumerate(FIRST_ORDER + SECOND_ORDER)}
FIRST_BIT: dict[Reason | None, int] = {reason: BIT[reason] for reason in FIRST_ORDER}
FIRST_BITS = sum(FIRST_BIT.values())
SECOND_BITS = sum(BIT[reason] for reason in SECOND_ORDER)
# Filtered holds by its own words or by unknown-user words (``classify._holds``).
_NEEDS = {Reason.FILTERED: BIT[Reason.FILTERED] | BIT[Reason.USERUNKNOWN]}


# Made on first use: the finders (from ``reason_plans``) and the automaton cost some 6 ms to
# build, and commands that import this module without classifying mail (``report``'s advice)
# must not pay it.
# Built whole, then stored in one step: a thread never sees a table half made (sending
# classifies replies from several threads).
TABLES: list[PhraseTables] = []


def tables() -> PhraseTables:
    if not TABLES:
        TABLES.append(PhraseTables())
    return TABLES[0]


_PLANS_HEAD = '''"""The phrase plans of the patterns classification scans (``PATTERNS`` of
``reason_tables``): ``phrase_scan.phrase_plan`` of each, per pattern source, read once here
rather than at each run's first classification (issue 3: expanding ~420 groups through the
regex parser cost ~0.05 s of CPU per run). A pattern missing here is read at run time.

Generated, do not edit: ``.venv/bin/python -m mailbounce.reason_tables && .venv/bin/ruff
format src/mailbounce/reason_plans.py`` writes it from ``reason_rules``;
``tests/test_phrase_scan.py`` fails when it is not current.
"""

# ruff: noqa: E501  (the keys are the patterns' own sources)

from mailbounce.phrase_scan import PhrasePlan

PLANS: dict[str, tuple[int, PhrasePlan]] = {
'''


def plans_source() -> str:
    """The text of ``mailbounce.reason_plans`` for the patterns of ``PATTERNS`` now."""
    lines = [_PLANS_HEAD.rstrip("\n")]
    for pattern in dict.fromkeys(PATTERNS):
        texts, groups = phrase_plan(pattern)
        lines += [f"    {pattern.pattern!r}: (", f"        {pattern.flags},", "        (", "("]
        lines += [f"            {text!r}," for text in texts]
        lines += ["        ),", "        ("]
        for source, flags, literals in groups:
            needed = ", ".join(map(repr, literals))
            lines.append(f"            ({source!r}, {flags}, ({needed},)),")
        lines += ["        ),", "),", "    ),"]
    lines.append("}")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    from pathlib import Path

    Path(__file__).with_name("reason_plans.py").write_text(plans_source(), encoding="utf-8")
