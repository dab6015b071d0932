"""Every detector gate answered in one pass per message (issue 3, round 2 of the profile).

Asking the ~60 gates one after another cost a Python call, a view look-up and a loop over
literal sets per gate: ~39 calls per message, a quarter of ``analyse_message``. Here every
gate (``_markers.Markers``) is compiled once, at import, into one boolean expression over the
views it reads, and all of them go into one generated function: its arguments are the views
(a field's text or its lower-cased form), its body the same ``str`` look-ups the gates make
(``literal in text``, or ``text.find(literal, 0, limit) != -1`` under a limit), its result one
answer per detector in registry order (True for a detector without a gate).

Same answers as ``Markers.__call__`` by construction: the expressions are written from the
very ``_checks`` the gates evaluate (a marker holds when its view holds a literal of each of
its sets; a gate when one marker holds and its ``also`` does). When a view has no exact
lower-cased form (``folded`` said None) or a view cannot be built, ``answers`` returns None
and the caller asks the gates one by one, as before. ``tests/test_bounce_gates.py`` compares
both engines on every sample and on generated mail.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from mailbounce.bounces._markers import Markers, _view
from mailbounce.bounces.base import Detector, Gate, Mail

_View = tuple[str, int]  # (view key, 1 for the lower-cased form else 0)


class GateDispatch:
    """The answers of all gates of ``gated`` for one message, computed together."""

    def __init__(self, gated: Sequence[tuple[Detector, Gate | None]]) -> None:
        self._views: list[_View] = []
        expressions = [self._expression(gate) for _, gate in gated]
        self.source = _function_source(len(self._views), expressions)
        namespace: dict[str, object] = {}
        # Generated from the gates' own literals (``repr`` quotes them): no outside text.
        exec(compile(self.source, "<detector gates>", "exec"), namespace)
        self._answers: Callable[..., tuple[bool, ...]] = namespace["answers"]  # type: ignore[assignment]
        self._keys = tuple(self._views)

    def answers(self, mail: Mail) -> tuple[bool, ...] | None:
        """One answer per detector (True: ask it), or None when the gates must be asked one
        by one (a view without an exact lower-cased form, or one that cannot be built)."""
        views = mail._views
        texts: list[str] = []
        try:
            for key, lowered in self._keys:
                view = views.get(key)
                if view is None:
                    view = views[key] = _view(mail, key)
                text = view[lowered]
                if text is None:
                    return None
                texts.append(text)
        except Exception:  # the gate that builds it raises it again, as before (quarantine)
            return None
        return self._answers(*texts)

    def _expression(self, gate: Gate | None) -> str:
        if gate is None:
            return "True"
        if not isinstance(gate, Markers):
            raise TypeError(f"a gate must be Markers to be compiled: {gate!r}")
        if gate.always:
            first = "True"
        else:
            checks = [self._check(*check) for check in gate._checks]
            first = " or ".join(checks) if checks else "False"
        if gate.also is None:
            return f"({first})"
        return f"(({first}) and {self._expression(gate.also)})"

    def _check(
        self, key: str, lowered: int, limit: int | None, sets: tuple[tuple[str, ...], ...]
    ) -> str:
        """``_markers._holds`` of one check, as an expression on the view's argument."""
        view = (key, lowered)
        if view not in self._views:
            self._views.append(view)
        name = f"v{self._views.index(view)}"
        if limit is None:
            tests = [[f"{literal!r} in {name}" for literal in one] for one in sets]
        else:
            tests = [[f"{name}.find({lit!r}, 0, {limit}) != -1" for lit in one] for one in sets]
        return "(" + " and ".join("(" + " or ".join(one) + ")" for one in tests) + ")"


def _function_source(count: int, expressions: list[str]) -> str:
    arguments = ", ".join(f"v{index}" for index in range(count))
    answers = "".join(f"        {expression},\n" for expression in expressions)
    return f"def answers({arguments}):\n    return (\n{answers}    )\n"
