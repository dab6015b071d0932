"""``LiteralScan`` answers what ``str``'s ``in`` answers."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from mailbounce.literal_scan import LiteralScan

# A small alphabet, so literals overlap, nest and repeat in the texts.
_TEXT = st.text(alphabet="abc é-\n", max_size=60)
_LITERALS = st.lists(st.text(alphabet="abc é-\n", max_size=5), max_size=12)


@given(_LITERALS, _TEXT)
def test_present_is_in(literals: list[str], text: str) -> None:
    scan = LiteralScan(literals)
    assert scan.present(text) == {literal for literal in literals if literal in text}


def test_nested_and_overlapping_literals_are_each_found() -> None:
    scan = LiteralScan(["he", "she", "hers", "h", "user unknown", "unknown"])
    assert scan.present("ushers") == {"h", "he", "she", "hers"}
    assert scan.present("550 user unknown") == {"user unknown", "unknown"}


def test_no_literals_and_empty_texts() -> None:
    assert LiteralScan([]).present("anything") == set()
    assert LiteralScan(["", "a"]).present("") == {""}
    assert LiteralScan(["a"]).present("") == set()
