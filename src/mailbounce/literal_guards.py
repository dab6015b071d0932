"""Literal checks grouped under a piece of text their literals share (issue 3, round 4).

``regex_literals.found`` tries a group of a pattern's alternatives when one of its literals is
in the text: one ``str.__contains__`` per literal, some 200 per diagnostic in ``classify``
(the largest part of its time). Many literals of a phrase group share a word ("mailbox",
"recipient", " not "): when that piece is absent, none of them is present, and one look-up
answers for all. ``guarded_checks`` writes the checks that way; each literal is still looked
up before its group's regex is searched, so the regex decides every answer as before.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from heapq import heapify, heappop, heappush

__all__ = ["guarded_checks", "guards"]

# Shorter pieces are in most texts (a look-up that skips nothing); pieces of 4 to 8
# characters skipped only 1% more look-ups on the DEV diagnostics, for 3x the build time.
_PIECE = 4


def guards(literals: Sequence[str]) -> tuple[list[tuple[str, list[str]]], list[str]]:
    """(piece, the literals holding it) groups, largest first, and the literals left alone.

    Greedy: the piece (``_PIECE`` characters) held by the most remaining literals takes
    them, while a piece is shared by two or more. Deterministic: ties go to the piece first
    in text order.
    """
    pieces = {
        literal: {literal[start : start + _PIECE] for start in range(len(literal) - _PIECE + 1)}
        for literal in dict.fromkeys(literals)
        if literal
    }
    counts = Counter(piece for held in pieces.values() for piece in held)
    # A heap of (-count, piece), counts refreshed when popped (they only go down): the
    # greedy choice without a pass over every piece per group (a single-bounce run builds
    # all of them, round 4).
    heap = [(-count, piece) for piece, count in counts.items() if count >= 2]
    heapify(heap)
    grouped: list[tuple[str, list[str]]] = []
    while heap:
        negative, piece = heappop(heap)
        count = counts[piece]
        if count != -negative:
            if count >= 2:
                heappush(heap, (-count, piece))
            continue
        members = [literal for literal, held in pieces.items() if piece in held]
        grouped.append((piece, members))
        for literal in members:
            counts.subtract(pieces.pop(literal))
    alone = list(pieces) + [""] * ("" in literals)
    return grouped, alone


def guarded_checks(groups: Sequence[tuple[str, ...]]) -> list[str]:
    """The body of ``found(text)``: group ``i`` (its literals ``groups[i]``, searched as
    ``a{i}``) is searched when one of its literals is in ``text``; True at the first match.
    A group whose literals sit under several pieces may be searched again after a miss:
    the answer (any group matches) is the same."""
    owners: dict[str, list[int]] = {}
    for index, literals in enumerate(groups):
        for literal in literals:
            owners.setdefault(literal, []).append(index)
    grouped, alone = guards(list(owners))
    lines: list[str] = []
    for piece, members in grouped:
        lines.append(f"    if {piece!r} in text:")
        lines.extend(_checks(members, owners, "        "))
    lines.extend(_checks(alone, owners, "    "))
    lines.append("    return False")
    return lines


def _checks(literals: list[str], owners: dict[str, list[int]], indent: str) -> list[str]:
    """Per group, in group order: ``if (its literals here in text) and a{i} matches``."""
    by_group: dict[int, list[str]] = {}
    for literal in literals:
        for index in owners[literal]:
            by_group.setdefault(index, []).append(literal)
    lines = []
    for index in sorted(by_group):
        present = " or ".join(f"{literal!r} in text" for literal in by_group[index])
        lines.append(f"{indent}if ({present}) and a{index}.search(text) is not None:")
        lines.append(f"{indent}    return True")
    return lines
