"""Regular expressions compiled on first use, not at import (issue 3, start-up).

The detectors and the reason tables hold some 560 patterns; compiling them all cost ~0.13 s
of every parse run's ~0.5 s start-up, though a run meets the layouts of a few MTAs only (a
detector whose gate says no never runs its patterns), and the phrase groups are only read
for their source (``regex_literals.finder`` compiles their alternatives one by one).

``lazy_compile`` gives an object that answers ``pattern`` and ``flags`` (what the literal
readers use) without compiling, and compiles the first time a method is asked. It then
keeps the compiled pattern's bound methods in its own attributes, which shadow the class's
methods: later calls go straight to the C methods, without a Python frame.
"""

from __future__ import annotations

import re
from typing import Any, cast

__all__ = ["LazyPattern", "lazy_compile", "made"]

# Every method a caller may ask of a compiled pattern; each one compiles on first use.
_METHODS = ("search", "match", "fullmatch", "finditer", "findall", "sub", "subn", "split")
_INLINE_FLAGS = frozenset("aiLmsux")
# Flags as plain ints: an operation on ``re.RegexFlag`` values goes through ``enum`` (~3 us
# each, four per pattern at every start: round 9), and a compiled pattern's ``flags`` is an
# int too.
_DEBUG, _ASCII, _UNICODE = int(re.DEBUG), int(re.ASCII), int(re.UNICODE)
_MADE: list[LazyPattern] = []  # every lazy pattern, for the test that compiles them all


def lazy_compile(source: str, flags: int = 0) -> re.Pattern[str]:
    """``re.compile(source, flags)``, compiled when first used.

    A source that starts with global inline flags (``(?i)``) is compiled at once: its
    ``flags`` are then only known from the compiled pattern.
    """
    if (source[:2] == "(?" and source[2:3] in _INLINE_FLAGS) or int(flags) & _DEBUG:
        return re.compile(source, flags)
    pattern = LazyPattern(source, flags)
    _MADE.append(pattern)
    return cast("re.Pattern[str]", pattern)


def made() -> tuple[LazyPattern, ...]:
    """The lazy patterns made so far (``tests/test_lazy_patterns.py`` compiles each)."""
    return tuple(_MADE)


class LazyPattern:
    """A compiled pattern's face: ``pattern`` and ``flags`` at once, the rest on first use.

    Identity hashing, unlike ``re.Pattern`` (hashed by content): the caches keyed by a
    pattern (``regex_literals``) key each one by itself either way.
    """

    def __init__(self, source: str, flags: int) -> None:
        self.pattern = source
        self.given = flags
        # ``re.compile``'s flags for a ``str`` source without leading inline flags: those
        # given, with UNICODE unless ASCII (``re._parser.fix_flags``).
        value = int(flags)
        self.flags = value if value & _ASCII else value | _UNICODE

    def compiled(self) -> re.Pattern[str]:
        """The compiled pattern (made once; its methods then replace this class's)."""
        pattern = re.compile(self.pattern, self.given)
        for name in _METHODS:
            setattr(self, name, getattr(pattern, name))
        self.__dict__["_compiled"] = pattern
        return pattern

    def __getattr__(self, name: str) -> Any:
        # Only for what is not set: ``groups``, ``groupindex``, ``scanner``...
        if name.startswith("__") or name == "_compiled":
            raise AttributeError(name)
        return getattr(self.__dict__.get("_compiled") or self.compiled(), name)

    def __repr__(self) -> str:
        return f"lazy_compile({self.pattern!r}, {self.given!r})"

    def search(self, *args: Any, **kwargs: Any) -> Any:
        return self.compiled().search(*args, **kwargs)

    def match(self, *args: Any, **kwargs: Any) -> Any:
        return self.compiled().match(*args, **kwargs)

    def fullmatch(self, *args: Any, **kwargs: Any) -> Any:
        return self.compiled().fullmatch(*args, **kwargs)

    def finditer(self, *args: Any, **kwargs: Any) -> Any:
        return self.compiled().finditer(*args, **kwargs)

    def findall(self, *args: Any, **kwargs: Any) -> Any:
        return self.compiled().findall(*args, **kwargs)

    def sub(self, *args: Any, **kwargs: Any) -> Any:
        return self.compiled().sub(*args, **kwargs)

    def subn(self, *args: Any, **kwargs: Any) -> Any:
        return self.compiled().subn(*args, **kwargs)

    def split(self, *args: Any, **kwargs: Any) -> Any:
        return self.compiled().split(*args, **kwargs)
