"""A weighted edit distance that prices each kind of typing slip by how likely it is.

Optimal string alignment (Damerau-Levenshtein without repeated edits of one substring) where
the cost of an edit depends on the keys involved:

- substitution: 0.5 for neighbouring keys (AZERTY or QWERTY), 1.0 otherwise;
- transposition of two letters: 0.5;
- a letter moved two places (``gmila`` for ``gmail``, ``oragen`` for ``orange``): 0.75, a
  slip of the same kind as a transposition but rarer (the finger runs two keys ahead);
- an extra character: 0.5 when it doubles a neighbour (``gmaill``) or is a dot or hyphen
  (``g.mail``), 0.75 when its key touches a neighbour's (``hoitmail``), 1.0 otherwise;
- a missing character: 0.5 when it was one of a double (``wanado``), a dot or hyphen
  (``gmailcom``) or the end of the word (``gmail.co``), 1.0 otherwise.
"""

from __future__ import annotations

from mailbounce.checks.keyboard import adjacent

CHEAP = 0.5
NEAR = 0.75
FULL = 1.0
MOVED = NEAR
_PUNCT = ".-"


def _extra_cost(typed: str, i: int) -> float:
    """Cost of ``typed[i]`` being an extra character."""
    char = typed[i]
    if char in _PUNCT:
        return CHEAP
    before = typed[i - 1] if i > 0 else ""
    after = typed[i + 1] if i + 1 < len(typed) else ""
    if char in (before, after):
        return CHEAP
    if (before and adjacent(char, before)) or (after and adjacent(char, after)):
        return NEAR
    return FULL


def _missing_cost(target: str, j: int, at_end: bool) -> float:
    """Cost of ``target[j]`` being left out by the typist."""
    char = target[j]
    if char in _PUNCT or at_end:
        return CHEAP
    if (j > 0 and target[j - 1] == char) or (j + 1 < len(target) and target[j + 1] == char):
        return CHEAP
    return FULL


def _sub_cost(a: str, b: str) -> float:
    if a == b:
        return 0.0
    return CHEAP if adjacent(a, b) else FULL


def _moved_two(typed: str, target: str) -> bool:
    """Three letters where one of the ends moved to the other end: ``ila`` for ``ail``."""
    if typed == target:
        return False
    return typed in (target[1:] + target[0], target[2] + target[:2])


def slip_distance(typed: str, target: str, limit: float = 99.0) -> float:
    """The weighted distance from ``target`` (what was meant) to ``typed`` (what was typed).

    Returns a value above ``limit`` as soon as every alignment exceeds it (early exit).
    """
    n, m = len(typed), len(target)
    extra = [_extra_cost(typed, i) for i in range(n)]
    previous3: list[float] = []
    previous2: list[float] = []
    previous = [0.0] * (m + 1)
    for j in range(1, m + 1):
        previous[j] = previous[j - 1] + _missing_cost(target, j - 1, False)
    for i in range(1, n + 1):
        current = [previous[0] + extra[i - 1]] + [0.0] * m
        t = typed[i - 1]
        at_end = i == n
        for j in range(1, m + 1):
            c = target[j - 1]
            best = previous[j - 1] + _sub_cost(t, c)
            cost = previous[j] + extra[i - 1]
            best = min(best, cost)
            cost = current[j - 1] + _missing_cost(target, j - 1, at_end)
            best = min(best, cost)
            if i > 1 and j > 1 and t == target[j - 2] and typed[i - 2] == c and t != c:
                best = min(best, previous2[j - 2] + CHEAP)
            if i > 2 and j > 2 and _moved_two(typed[i - 3 : i], target[j - 3 : j]):
                best = min(best, previous3[j - 3] + MOVED)
            current[j] = best
        # A transposition reaches back two rows and a moved letter three: exit only when
        # none of the rows a later cell can come from is within the limit.
        if min(current) > limit and min(previous) > limit and min(previous2, default=99.0) > limit:
            return limit + 1.0
        previous3, previous2, previous = previous2, previous, current
    return previous[m]


def slip_count(typed: str, target: str) -> int:
    """How many slips (of any kind, each counted once) turn ``target`` into ``typed``."""
    n, m = len(typed), len(target)
    rows = [[i + j if i == 0 or j == 0 else 0 for j in range(m + 1)] for i in range(n + 1)]
    for i in range(1, n + 1):
        for j in range(1, m + 1):
            best = min(
                rows[i - 1][j - 1] + (typed[i - 1] != target[j - 1]),
                rows[i - 1][j] + 1,
                rows[i][j - 1] + 1,
            )
            swapped = typed[i - 1] == target[j - 2] and typed[i - 2] == target[j - 1]
            if i > 1 and j > 1 and swapped:
                best = min(best, rows[i - 2][j - 2] + 1)
            if i > 2 and j > 2 and _moved_two(typed[i - 3 : i], target[j - 3 : j]):
                best = min(best, rows[i - 3][j - 3] + 1)
            rows[i][j] = best
    return rows[n][m]
