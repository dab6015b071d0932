"""Literal checks grouped under shared pieces answer as one check per literal (round 4)."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from mailbounce.literal_guards import guarded_checks, guards
from mailbounce.reason_rules import PHRASES
from mailbounce.regex_literals import _plan, generated_function

# Words of the phrase groups and their neighbours: literals share pieces, texts hold some.
_WORDS = st.sampled_from(
    ["mail", "mailbox", "box", " full", "user", " unknown", "not ", "quota", "exceed", "", "x"]
)
_LITERALS = st.lists(_WORDS, min_size=1, max_size=3).map("".join)
_GROUPS = st.lists(st.lists(_LITERALS, min_size=1, max_size=3).map(tuple), min_size=1, max_size=6)
_TEXTS = st.lists(_WORDS, max_size=6).map("".join)


class _Search:
    """A group's regex stand-in: matches or not, and says whether it was searched."""

    def __init__(self, matches: bool) -> None:
        self.matches, self.searched = matches, False

    def search(self, text: str) -> object:
        self.searched = True
        return text if self.matches else None


@settings(max_examples=300, deadline=None)
@given(_GROUPS, _TEXTS, st.data())
def test_a_group_is_searched_exactly_when_a_literal_of_it_is_present(
    groups: list[tuple[str, ...]], text: str, data: st.DataObject
) -> None:
    matches = data.draw(st.lists(st.booleans(), min_size=len(groups), max_size=len(groups)))
    searches = {f"a{index}": _Search(match) for index, match in enumerate(matches)}
    lines = ["def found(text):", *guarded_checks(groups)]
    found = generated_function(lines, "found", dict(searches), "<test>")
    present = [any(literal in text for literal in literals) for literals in groups]
    assert found(text) == any(p and m for p, m in zip(present, matches, strict=True))
    if not any(p and m for p, m in zip(present, matches, strict=True)):
        # No match: every group with a literal present was searched, and no other.
        assert [s.searched for s in searches.values()] == present


@given(st.lists(_LITERALS, max_size=12))
def test_each_literal_once_under_a_piece_it_holds(literals: list[str]) -> None:
    grouped, alone = guards(literals)
    placed = [literal for _, members in grouped for literal in members] + alone
    assert sorted(placed) == sorted(dict.fromkeys(literals))
    for piece, members in grouped:
        assert len(members) >= 2 and all(piece in literal for literal in members)


def test_phrase_groups_checks_cover_every_literal() -> None:
    for pattern in PHRASES.values():
        groups = [one.literals for one in _plan(pattern)]
        source = "\n".join(guarded_checks(groups))
        for literals in groups:
            for literal in literals:
                assert f"{literal!r} in text" in source
