"""The phrase tables of ``mailbounce.classify``: every phrase pattern it asks of a diagnostic,
behind one scan of the diagnostic's literals (``phrase_scan``), built once on first use.
"""

from __future__ import annotations

from mailbounce.models import Reason
from mailbounce.phrase_scan import FoundIn, PhraseScan
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

__all__ = ["BIT", "FIRST_BIT", "FIRST_BITS", "SECOND_BITS", "TABLES", "PhraseTables", "tables"]

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
        stage_patterns = [pattern for pattern, _ in STAGES]
        patterns = [*PHRASES.values(), GREYLISTING, RETRY_LATER, *stage_patterns]
        self.scan = scan = PhraseScan(patterns, DIAGNOSTIC_WORDS)
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
            literal for pattern in stage_patterns for literal in scan.literals_of(pattern)
        )
        # Per literal of the scan: the bits (``BIT``) of the phrase groups it lets search.
        self.bits = dict.fromkeys(scan.literals, 0)
        for reason, bit in BIT.items():
            for literal in scan.literals_of(PHRASES[reason]):
                self.bits[literal] |= bit
        # The first-order steps to walk, per key (``_first_order``): a few dozen keys met.
        self.first_steps: dict[int, tuple[_FirstStep, ...]] = {}

    def first_steps_of(self, key: int) -> tuple[_FirstStep, ...]:
        """The steps of ``first`` in ``key`` (bits of ``BIT``) or decided by ``_holds``
        whatever the phrases (unknown user, filtered)."""
        steps = tuple(step for step in self.first if key & BIT[step[0]] or step[3])
        if len(self.first_steps) >= 4096:
            self.first_steps.clear()  # hostile mail with ever new words must not grow it
        self.first_steps[key] = steps
        return steps


# One bit per phrase group asked in order: ``FIRST_ORDER`` then ``SECOND_ORDER``.
BIT = {reason: 1 << index for index, reason in enumerate(FIRST_ORDER + SECOND_ORDER)}
FIRST_BIT: dict[Reason | None, int] = {reason: BIT[reason] for reason in FIRST_ORDER}
FIRST_BITS = sum(FIRST_BIT.values())
SECOND_BITS = sum(BIT[reason] for reason in SECOND_ORDER)


# Made on first use: the finders and the automaton cost some 20 ms to build, and commands
# that import this module without classifying mail (``report``'s advice) must not pay it.
# Built whole, then stored in one step: a thread never sees a table half made (sending
# classifies replies from several threads).
TABLES: list[PhraseTables] = []


def tables() -> PhraseTables:
    if not TABLES:
        TABLES.append(PhraseTables())
    return TABLES[0]
