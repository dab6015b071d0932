"""Detector gates compiled into plain functions, once, at import (issue 3, round 2 profile).

A ``_markers.Markers`` gate asked in turn walked its checks, their literal sets and their
literals in Python loops: ~39 gates per message, a quarter of ``analyse_message``. Each gate
is compiled here into one generated function of the message: it fetches the views it reads
(``Mail._views``, built by ``_markers._view`` on first use, as before) and answers with the
very ``str`` look-ups the loops made (``literal in text``, or
``text.find(literal, 0, limit) != -1`` under a limit), in the same order with the same
short-circuits. So the same answer, by construction: a marker holds when its view has no
exact lower-cased form (None) or holds a literal of each of its sets; a gate when one marker
holds and its ``also`` does. Gates are still asked lazily, in registry order, up to the
detector that matches (asking all of them at once built views no detector needed).
``tests/test_bounce_gates.py`` compares each compiled gate with its ``Markers`` on every
sample and on generated mail.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from mailbounce.bounces._markers import Markers, _view
from mailbounce.bounces.base import Detector, Gate, Mail
from mailbounce.regex_literals import generated_function


def compiled_gates(
    gated: Sequence[tuple[Detector, Gate | None]],
) -> tuple[tuple[Detector, Gate | None], ...]:
    """``gated`` with each ``Markers`` gate replaced by its compiled function, compiled when
    first asked: ``_detect`` asks them only when ``next_asked`` raised (a view that cannot be
    built), and compiling ~65 of them cost ~20 ms of every start (issue 3, round 3)."""
    return tuple(
        (detector, _CompiledOnFirstUse(gate) if isinstance(gate, Markers) else gate)
        for detector, gate in gated
    )


class _CompiledOnFirstUse:
    """A ``Markers`` gate that answers through ``compile_gate(gate)``, made on first call."""

    __slots__ = ("_compiled", "_gate")

    def __init__(self, gate: Markers) -> None:
        self._gate = gate
        self._compiled: Gate | None = None

    def __call__(self, mail: Mail) -> bool:
        compiled = self._compiled
        if compiled is None:
            compiled = self._compiled = compile_gate(self._gate)
            assert compiled is not None  # a Markers gate compiles to a function
        return compiled(mail)


def compile_gate(gate: Gate | None) -> Gate | None:
    """The gate as one generated function (None stays None: the detector is always asked)."""
    if gate is None:
        return None
    if not isinstance(gate, Markers):
        return gate  # a hand-written gate is already a function
    lines = ["def gate(mail):", "    views = mail._views"]
    _statements(gate, lines)
    lines.append("    return True")
    return generated_function(lines, "gate", {"_view": _view}, "<detector gate>")


def _statements(gate: Markers, lines: list[str]) -> None:
    """``Markers.__call__`` step by step: each check fetches its view when it is reached
    (built on first use, as the loop did), the first check that holds ends the part, and a
    part where none holds answers False; then the ``also`` part, the same way."""
    if not gate.always:
        if not gate._checks:
            lines.append("    return False")
            return
        lines.append("    while True:")  # one pass: ``break`` is "a check holds"
        for key, lowered, limit, sets in gate._checks:
            lines.append(f"        view = views.get({key!r})")
            lines.append("        if view is None:")
            lines.append(f"            view = views[{key!r}] = _view(mail, {key!r})")
            lines.append(f"        text = view[{lowered}]")
            lines.append(f"        if text is None or {_holds(limit, sets)}:")
            lines.append("            break")
        lines.append("        return False")
    if gate.also is not None:
        _statements(gate.also, lines)


def _holds(limit: int | None, sets: tuple[tuple[str, ...], ...]) -> str:
    """``_markers._holds`` as an expression on ``text``: a literal of each set."""
    if limit is None:
        tests = [[f"{literal!r} in text" for literal in one] for one in sets]
    else:
        tests = [[f"text.find({lit!r}, 0, {limit}) != -1" for lit in one] for one in sets]
    if not tests:
        return "True"
    return "(" + " and ".join("(" + " or ".join(one) + ")" for one in tests) + ")"


NextAsked = Callable[[Mail, int], int]


def next_asked_function(gated: Sequence[tuple[Detector, Gate | None]]) -> NextAsked:
    """One generated function for the whole registry: ``next_asked(mail, start)`` is the
    index of the first detector from ``start`` on whose gate does not say False (an ungated
    detector is always asked), ``len(gated)`` when none is left.

    Each gate is the expression of its checks in ``Markers.__call__``'s order, ``or`` and
    ``and`` short-circuiting as its loops did, a view fetched (built on first use) only when
    its check is reached: the same answers and the same views built as asking the gates in
    turn, without a Python call per gate (~37 a message).
    """
    local_of: dict[str, str] = {}  # view key -> the local holding it within one call
    tests: list[str] = []
    for index, (_, gate) in enumerate(gated):
        if gate is None:
            tests.append(f"    if start <= {index}:")
        elif isinstance(gate, Markers):
            tests.append(f"    if start <= {index} and {_gate_expression(gate, local_of)}:")
        else:
            raise TypeError(f"a registry gate must be Markers to be compiled: {gate!r}")
        tests.append(f"        return {index}")
    lines = ["def next_asked(mail, start):", "    views = mail._views"]
    if local_of:
        lines.append("    " + " = ".join(local_of.values()) + " = None")
    lines += [*tests, f"    return {len(gated)}"]
    return generated_function(lines, "next_asked", {"_built": _built}, "<detector gates>")


def _built(mail: Mail, key: str) -> tuple[str, str | None]:
    """A view built on first use and kept (``views.get`` found none)."""
    view = mail._views[key] = _view(mail, key)
    return view


def _gate_expression(gate: Markers, local_of: dict[str, str]) -> str:
    """``Markers.__call__`` as one expression (its ``also`` part after ``and``)."""
    if gate.always:
        first = "True"
    elif not gate._checks:
        first = "False"
    else:
        first = " or ".join(_check_expression(*check, local_of) for check in gate._checks)
    if gate.also is None:
        return f"({first})"
    return f"(({first}) and {_gate_expression(gate.also, local_of)})"


def _check_expression(
    key: str,
    lowered: int,
    limit: int | None,
    sets: tuple[tuple[str, ...], ...],
    local_of: dict[str, str],
) -> str:
    """One check: the view fetched (a view is a non-empty tuple, so ``or`` builds it only
    when absent), then no exact lower-cased form, or a literal of each set. The view is
    kept in a local of the call (None until first fetched): the ~60 checks of a message
    read some 14 views, and a local costs less than a ``views.get`` call (round 3)."""
    local = local_of.setdefault(key, f"v{len(local_of)}")
    view = f"({local} or ({local} := views.get({key!r}) or _built(mail, {key!r})))"
    return f"((text := {view}[{lowered}]) is None or {_holds(limit, sets)})"
