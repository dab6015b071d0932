"""Patterns compiled on first use (``mailbounce.lazy_patterns``) behave as compiled ones."""

from __future__ import annotations

import re
import threading

import mailbounce.bounces.registry  # noqa: F401  (makes every detector and reason pattern)
from mailbounce.lazy_patterns import LazyPattern, lazy_compile, made


def test_every_lazy_pattern_compiles_with_the_flags_it_announces() -> None:
    # ``flags`` is read before any compiling (the literal readers decide on IGNORECASE):
    # it must be what the compiled pattern says, for every pattern of the package.
    patterns = made()
    assert len(patterns) > 300
    for pattern in patterns:
        compiled = re.compile(pattern.pattern, pattern.given)
        assert pattern.flags == compiled.flags, pattern
        # A plain int, as the compiled pattern's (not an ``re.RegexFlag``: the literal
        # readers' flag tests then stay int operations, without ``enum``).
        assert type(pattern.flags) is int, pattern
        assert pattern.groups == compiled.groups, pattern
        assert pattern.groupindex == compiled.groupindex, pattern


def test_methods_answer_as_the_compiled_pattern() -> None:
    source, flags = r"(?P<code>[245]\d\d)[ -](\w+)", re.I
    expected = re.compile(source, flags)
    for call in (
        lambda p: p.search("x 550 Refused").groups(),
        lambda p: p.match("550-no").group("code"),
        lambda p: p.fullmatch("550 no") is not None,
        lambda p: [m.span() for m in p.finditer("550 a 451 b")],
        lambda p: p.findall("550 a 451 b"),
        lambda p: p.sub("<\\g<code>>", "550 a"),
        lambda p: p.subn("", "550 a 451 b"),
        lambda p: p.split("x 550 a y"),
    ):
        # Each method first on a fresh pattern (it compiles), then on a compiled one.
        fresh = lazy_compile(source, flags)
        assert call(fresh) == call(expected)
        assert call(fresh) == call(expected)


def test_a_pattern_is_compiled_only_when_used() -> None:
    pattern = lazy_compile(r"never used here \d+")
    assert isinstance(pattern, LazyPattern)
    assert "_compiled" not in vars(pattern)
    assert pattern.pattern == r"never used here \d+"
    assert pattern.flags == re.compile(pattern.pattern).flags
    assert "_compiled" not in vars(pattern)
    assert pattern.search("never used here 12") is not None
    assert "_compiled" in vars(pattern)


def test_leading_inline_flags_and_ascii_flags() -> None:
    # Global inline flags change ``flags``: such a source is compiled at once.
    inline = lazy_compile(r"(?i)abc")
    assert isinstance(inline, re.Pattern)
    assert inline.flags & re.IGNORECASE
    ascii_only = lazy_compile(r"\w+", re.ASCII)
    assert ascii_only.flags == re.compile(r"\w+", re.ASCII).flags
    assert ascii_only.match("é") is None


def test_first_use_from_several_threads_gives_the_same_answers() -> None:
    # Sending classifies replies from several threads: a pattern may be first used by two.
    pattern = lazy_compile(r"user (unknown|not found)")
    results: list[object] = []

    def use() -> None:
        for _ in range(200):
            match = pattern.search("550 user unknown here")
            results.append(match.group(1) if match else None)

    threads = [threading.Thread(target=use) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results == ["unknown"] * 800
