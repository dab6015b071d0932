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
detector that matches (asking all of them at once built views no detector needed); in
``asked`` (one generator for the registry) a gate fetches the texts of all its checks
before testing them.
``tests/test_bounce_gates.py`` compares each compiled gate with its ``Markers`` on every
sample and on generated mail.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence

from mailbounce.bounces._markers import (
    COMPOSED,
    PRESENCE,
    RECEIVED,
    Markers,
    _Check,
    _view,
    composed_text,
    header_name,
    header_names,
    header_text,
)
from mailbounce.bounces.base import Detector, Gate, Mail
from mailbounce.regex_literals import generated_function


def compiled_gates(
    gated: Sequence[tuple[Detector, Gate | None]],
) -> tuple[tuple[Detector, Gate | None], ...]:
    """``gated`` with each ``Markers`` gate replaced by its compiled function, compiled when
    first asked: ``_detect`` asks them only when ``asked`` raised (a view that cannot be
    built), and compiling ~65 of them cost ~20 ms of every start (issue 3, round 3)."""
    return tuple(
        (detector, lazily_compiled(gate) if isinstance(gate, Markers) else gate)
        for detector, gate in gated
    )


def lazily_compiled(gate: Markers) -> Gate:
    """``gate`` answering through ``compile_gate(gate)``, compiled on its first call."""
    return _CompiledOnFirstUse(gate)


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


def _holds(limit: int | None, sets: tuple[tuple[str, ...], ...], text: str = "text") -> str:
    """``_markers._holds`` as an expression on the local ``text``: a literal of each set."""
    if limit is None:
        tests = [[f"{literal!r} in {text}" for literal in one] for one in sets]
    else:
        tests = [[f"{text}.find({lit!r}, 0, {limit}) != -1" for lit in one] for one in sets]
    if not tests:
        return "True"
    return "(" + " and ".join("(" + " or ".join(one) + ")" for one in tests) + ")"


Asked = Callable[[Mail], Iterator[int]]


def asked_function(gated: Sequence[tuple[Detector, Gate | None]]) -> Asked:
    """One generated generator for the whole registry: ``asked(mail)`` yields, in registry
    order, the index of each detector whose gate does not say False (an ungated detector is
    always yielded).

    Each gate is its checks in ``Markers.__call__``'s order, ``or`` and ``and``
    short-circuiting as its loops did, so the same answers as asking the gates in turn,
    without a Python call per gate (~37 a message). The texts a gate's part reads are
    fetched (built on first use) in statements before its test, each kept in a local of the
    frame, so a check is one ``in`` (issue 3, round 4: fetching the view inside every check
    cost as much as the look-ups). A part may thus build a view its first holding check
    did not need. ``_detect`` asks the detector at each index and stops at the first that
    finds records (~2 indexes a message); the frame keeps its texts from one to the next
    (round 5: a function asked again from a later start tested the start at every gate and
    fetched its texts again). A view that raises ends the generator with the error, and
    ``_detect`` asks the gates in turn from the index after the last one yielded.
    """
    # (view key, lowered) -> the local holding it; the header names first, fetched at once:
    # a header's text is fetched only when the message has that header (else "", what
    # ``Mail.header`` gives for it), without a call (round 5: most gates read headers most
    # mail lacks, X-Mailer, X-NAI-Header...).
    local_of: dict[tuple[str, int], str] = {(PRESENCE, 0): _NAMES}
    chain = _Chain(local_of, _repeated_tests(gated))
    body = _chain(gated, chain, "    ")
    head = ["def asked(mail):", f"    {_NAMES} = _header_names(mail)"]
    texts = [local for local in (*local_of.values(), *chain.heads.values()) if local != _NAMES]
    texts += chain.memos.values()
    if texts:
        head.append("    " + " = ".join(texts) + " = None")
    namespace: dict[str, object] = {
        "_composed_text": composed_text,
        "_header_text": header_text,
        "_header_names": header_names,
    }
    return generated_function(
        [*head, *body, "    return", "    yield"],  # a generator even with no gate at all
        "asked",
        namespace,
        "<detector gates asked>",
    )


# One literal test: (view key, lowered, limit, literal).
_Test = tuple[str, int, int | None, str]


class _Chain:
    """What the statements of ``asked`` share: the locals of the texts, of their heads (a
    text cut at a gate's limit) and of the results of tests asked by several gates."""

    def __init__(self, local_of: dict[tuple[str, int], str], repeated: list[_Test]) -> None:
        self.local_of = local_of
        self.heads: dict[tuple[str, int, int], str] = {}
        self.memos: dict[_Test, str] = {test: f"m{n}" for n, test in enumerate(repeated)}


def _repeated_tests(gated: Sequence[tuple[Detector, Gate | None]]) -> list[_Test]:
    """The literal tests on the body or the Received headers that several checks ask (two
    gates looking for United Internet's separator): each answer is kept in a local the
    first time it is asked, not searched for again through the whole body."""
    seen: set[_Test] = set()
    repeated: dict[_Test, None] = {}  # in the order first repeated
    for _, gate in gated:
        part = gate
        while isinstance(part, Markers):
            for key, lowered, limit, sets in part._checks if not part.always else ():
                if key not in COMPOSED:
                    continue
                for literal in (lit for one in sets for lit in one):
                    test = (key, lowered, limit, literal)
                    if test in seen:
                        repeated[test] = None
                    seen.add(test)
            part = part.also
    return list(repeated)


def _check_cost(check: _Check) -> int:
    """The order a part's checks are asked in (same answer: an ``or`` of pure look-ups):
    a header name, a header's value, the Received headers, the body's head, the body."""
    key, _, limit, _ = check
    if _is_presence(key):
        return 0
    if key not in COMPOSED:
        return 1
    if key == RECEIVED:
        return 2
    return 3 if limit is not None else 4


def _chain(
    gated: Sequence[tuple[Detector, Gate | None]],
    chain: _Chain,
    indent: str,
) -> list[str]:
    """Each gate's statements in registry order, straight on: a text fetched at a gate's
    first part is known fetched by every later gate."""
    lines: list[str] = []
    fetched: set[str] = {_NAMES}
    for index, (_, gate) in enumerate(gated):
        if gate is None:
            lines.append(f"{indent}yield {index}")
        elif isinstance(gate, Markers):
            lines += _gate_statements(gate, index, chain, indent, fetched)
        else:
            raise TypeError(f"a registry gate must be Markers to be compiled: {gate!r}")
    return lines


def _gate_statements(
    gate: Markers,
    index: int,
    chain: _Chain,
    indent: str,
    fetched: set[str],
) -> list[str]:
    """``Markers.__call__`` as statements: the texts of a part fetched (those the gate has
    not fetched yet), then its test, the cheapest checks first; the ``also`` part nested
    under it; ``yield index`` when every part holds."""
    lines: list[str] = []
    if not gate.always:
        if not gate._checks:
            return lines  # never holds: the detector is not asked
        checks = sorted(gate._checks, key=_check_cost)
        for key, lowered, limit, _ in checks:
            local = _local(key, lowered, chain.local_of)
            if local not in fetched:
                fetched.add(local)
                lines.append(f"{indent}if {local} is None:")
                lines.append(f"{indent}    {local} = {_fetch(key, lowered)}")
            if limit is not None:
                head = chain.heads.setdefault((key, lowered, limit), f"h{len(chain.heads)}")
                if head not in fetched:
                    fetched.add(head)
                    lines.append(f"{indent}if {head} is None:")
                    lines.append(f"{indent}    {head} = {local}[:{limit}]")
        tests = " or ".join(_check_expression(*check, chain) for check in checks)
        lines.append(f"{indent}if {tests}:")
        indent += "    "
    if gate.also is not None:
        # Fetched under the test: known fetched within this gate only (a copy).
        return lines + _gate_statements(gate.also, index, chain, indent, set(fetched))
    return [*lines, f"{indent}yield {index}"]


_NAMES = "names"  # the local holding the message's header names (``header_names``)


def _fetch(key: str, lowered: int) -> str:
    if _is_presence(key):
        return "_header_names(mail)"
    if key in COMPOSED:
        return f"_composed_text(mail, {key!r}, {lowered})"
    name = header_name(key)
    return f'(_header_text(mail, {name!r}, {lowered}) if {key!r} in {_NAMES} else "")'


def _is_presence(key: str) -> bool:
    return key.startswith(PRESENCE)


def _local(key: str, lowered: int, local_of: dict[tuple[str, int], str]) -> str:
    """The local for a text; every presence check shares the one of the header names."""
    slot = (PRESENCE, 0) if _is_presence(key) else (key, lowered)
    return local_of.setdefault(slot, f"t{len(local_of)}")


def _check_expression(
    key: str,
    lowered: int,
    limit: int | None,
    sets: tuple[tuple[str, ...], ...],
    chain: _Chain,
) -> str:
    """One check on its fetched text: a literal of each set (``_holds``), looked up with
    ``in`` in the text or its head (``text[:limit]``, what ``find`` within the limit
    searches: an ``in`` is cheaper than a method call with its arguments); a presence check
    is the header's lower-cased name among the message's (``in mail.msg``). A test several
    checks ask is answered once (``_repeated_tests``)."""
    local = _local(key, lowered, chain.local_of)
    if _is_presence(key):
        return f"({key[len(PRESENCE) :]!r} in {local})"
    text = local if limit is None else chain.heads[(key, lowered, limit)]

    def test(literal: str) -> str:
        memo = chain.memos.get((key, lowered, limit, literal))
        if memo is None:
            return f"{literal!r} in {text}"
        return f"({memo} if {memo} is not None else ({memo} := {literal!r} in {text}))"

    # The sets with fewest literals first (fewest look-ups before a set that fails ends it:
    # Mdaemon's "had " before its two lead phrases).
    tests = [[test(literal) for literal in one] for one in sorted(sets, key=len)]
    if not tests:
        return "True"
    return "(" + " and ".join("(" + " or ".join(one) + ")" for one in tests) + ")"
