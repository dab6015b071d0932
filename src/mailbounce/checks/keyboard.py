"""Keyboard geometry for the typo engine: which keys a finger can slip between.

French members type on AZERTY, everyone else on QWERTY; a slip on either counts. Rows are
staggered: the key at index ``j`` of a row touches indices ``j`` and ``j + 1`` of the row
above and ``j - 1`` and ``j`` of the row below.
"""

from __future__ import annotations

QWERTY = ("1234567890-", "qwertyuiop", "asdfghjkl", "zxcvbnm")
AZERTY = ("1234567890-", "azertyuiop", "qsdfghjklm", "wxcvbn")

# Someone used to one layout typing on the other swaps these keys (a/q, z/w).
_LAYOUT_SWAPS = (("a", "q"), ("z", "w"))


def _neighbours(rows: tuple[str, ...]) -> dict[str, set[str]]:
    near: dict[str, set[str]] = {}
    for r, row in enumerate(rows):
        for j, key in enumerate(row):
            keys = near.setdefault(key, set())
            candidates = [(r, j - 1), (r, j + 1), (r - 1, j), (r - 1, j + 1)]
            candidates += [(r + 1, j - 1), (r + 1, j)]
            for rr, jj in candidates:
                if 0 <= rr < len(rows) and 0 <= jj < len(rows[rr]):
                    keys.add(rows[rr][jj])
    return near


def _adjacent_pairs() -> frozenset[tuple[str, str]]:
    pairs: set[tuple[str, str]] = set()
    for layout in (QWERTY, AZERTY):
        for key, near in _neighbours(layout).items():
            pairs.update((key, other) for other in near)
    for a, b in _LAYOUT_SWAPS:
        pairs.update({(a, b), (b, a)})
    return frozenset(pairs)


ADJACENT: frozenset[tuple[str, str]] = _adjacent_pairs()


def adjacent(a: str, b: str) -> bool:
    """True when ``a`` and ``b`` are neighbouring keys on AZERTY or QWERTY."""
    return (a, b) in ADJACENT
