"""Campaign templates filled per recipient without a Jinja2 render when their shape allows.

Campaign templates are mostly text with ``{{ name }}`` holes, ``{{ name or 'default' }}``
and ``{% if name == 'value' %}`` blocks. For those, the tree Jinja2 parsed is turned once
into small Python closures over the recipient's values, which give the text Jinja2 renders
(values through ``str``, or ``markupsafe.escape`` when autoescaping, as Jinja2's generated
code does; Python truthiness, ``or``/``and`` short-circuits and comparisons, which the
sandbox does not intercept) without the Jinja2 context Jinja2 builds for every render, which
costs more than filling the holes (``benchmarks/compose_speed.py``). Nothing in that subset
reads an attribute, calls anything but a few of Jinja2's own text filters (``upper``,
``title``, ``trim``...) or assigns: the sandbox has nothing to guard. Any other shape
(other filters, attributes, loops, ``set``, macros...) is rendered by Jinja2 in its sandbox.

A missing value is the error Jinja2's ``StrictUndefined`` gives, raised at the same point.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from jinja2 import Environment, nodes
from jinja2.defaults import DEFAULT_NAMESPACE
from jinja2.exceptions import TemplateError as JinjaError
from jinja2.filters import FILTERS as DEFAULT_FILTERS
from markupsafe import escape

from mailbounce.errors import TemplateError

Context = Mapping[str, Any]
Expression = Callable[[Context], Any]
# A piece of output: fixed text, or a function of the recipient's values giving text.
Piece = str | Callable[[Context], str]
Pieces = tuple[Piece, ...]

# Names Jinja2 gives a meaning of its own (a global such as range, a loop or macro name): a
# recipient without such a column would get Jinja2's object, so these go through Jinja2.
_SPECIAL_NAMES = frozenset({"self", "loop", "caller", "varargs", "kwargs", "super"}) | frozenset(
    DEFAULT_NAMESPACE
)
# Jinja2's own filters that take the value and plain arguments (no environment, context or
# Undefined handling): called on the value as Jinja2's generated code calls them.
_FILTERS = frozenset({"upper", "lower", "capitalize", "title", "trim", "e", "escape", "striptags"})
_COMPARISONS: dict[str, Callable[[Any, Any], Any]] = {
    "eq": operator.eq,
    "ne": operator.ne,
    "lt": operator.lt,
    "lteq": operator.le,
    "gt": operator.gt,
    "gteq": operator.ge,
    "in": lambda left, right: left in right,
    "notin": lambda left, right: left not in right,
}


def join(pieces: Pieces, context: Context) -> str:
    """The text of ``pieces`` for one recipient (KeyError: a value is missing)."""
    return "".join([piece if isinstance(piece, str) else piece(context) for piece in pieces])


class Filler:
    """One template, compiled once; ``fill`` gives its text for one recipient.

    ``pieces`` is None when the template is outside the subset above: ``fill`` then renders
    it with Jinja2 in ``env`` (sandboxed, StrictUndefined) as a whole.
    """

    def __init__(self, name: str, source: str, tree: nodes.Template, env: Environment) -> None:
        self.name = name
        autoescape = env.autoescape
        # Only Jinja2's default filters are called directly; an environment that replaced
        # one renders through Jinja2.
        default_filters = all(env.filters.get(f) is DEFAULT_FILTERS[f] for f in _FILTERS)
        self.pieces = (
            _statements(tree.body, autoescape=autoescape)
            if isinstance(autoescape, bool) and default_filters
            else None
        )
        self._template = env.from_string(source) if self.pieces is None else None

    def fill(self, context: Context) -> str:
        if self.pieces is not None:
            return self.join(self.pieces, context)
        try:
            return str(self._template.render(context))  # type: ignore[union-attr]
        except (JinjaError, TypeError) as exc:
            # TypeError: a template comparing text with a number ({{ 1 in ville }}...).
            raise TemplateError(f"{self.name}: {exc}") from None

    def join(self, pieces: Pieces, context: Context) -> str:
        try:
            return "".join(
                [piece if isinstance(piece, str) else piece(context) for piece in pieces]
            )
        except KeyError as exc:
            # StrictUndefined's own wording, for a list column this recipient has no value in.
            raise TemplateError(f"{self.name}: {exc.args[0]!r} is undefined") from None
        except TypeError as exc:
            raise TemplateError(f"{self.name}: {exc}") from None


def layout(pieces: Pieces) -> list[str | Pieces]:
    """The template cut at its own line breaks: runs of fixed whole lines (``str``), and
    groups of pieces (``tuple``) from one fixed line break to the next, holding values.

    Every item but the last ends just after a line break of the template, so the body
    encoder can measure and encode the fixed runs once (a quoted-printable line does not
    depend on its neighbours) and only the groups per recipient.
    """
    items: list[str | Pieces] = []
    line: list[Piece] = []  # the open line: text after the last fixed line break
    for piece in pieces:
        if not isinstance(piece, str):
            line.append(piece)
            continue
        first = piece.find("\n")
        if first < 0:
            line.append(piece)
            continue
        last = piece.rfind("\n")
        line.append(piece[: first + 1])
        _close(items, line)
        _add_fixed(items, piece[first + 1 : last + 1])
        line = [piece[last + 1 :]] if last + 1 < len(piece) else []
    _close(items, line)
    return items


def _close(items: list[str | Pieces], line: list[Piece]) -> None:
    if all(isinstance(piece, str) for piece in line):
        _add_fixed(items, "".join(line))  # type: ignore[arg-type]
    else:
        items.append(tuple(piece for piece in line if piece != ""))


def _add_fixed(items: list[str | Pieces], text: str) -> None:
    if not text:
        return
    if items and isinstance(items[-1], str):
        items[-1] += text
    else:
        items.append(text)


def _statements(body: Sequence[nodes.Node], *, autoescape: bool) -> Pieces | None:
    pieces: list[Piece] = []
    for node in body:
        if isinstance(node, nodes.Output):
            for child in node.nodes:
                if isinstance(child, nodes.TemplateData):
                    if child.data:
                        pieces.append(child.data)
                    continue
                if isinstance(child, nodes.Name) and _expression(child) is not None:
                    pieces.append(_name_output(child.name, autoescape))
                    continue
                value = _expression(child)
                if value is None:
                    return None
                pieces.append(_output(value, autoescape))
        elif isinstance(node, nodes.If):
            branch = _if(node, autoescape)
            if branch is None:
                return None
            pieces.append(branch)
        else:
            return None
    return tuple(pieces)


def html_escape(value: Any) -> str:
    """``markupsafe.escape(value)`` as text; plain strings without building a Markup."""
    if type(value) is not str:  # Markup and objects with __html__ decide for themselves
        return escape(value)
    # markupsafe's replacements, in its order.
    return (
        value.replace("&", "&amp;")
        .replace(">", "&gt;")
        .replace("<", "&lt;")
        .replace("'", "&#39;")
        .replace('"', "&#34;")
    )


def _output(value: Expression, autoescape: bool) -> Callable[[Context], str]:
    # Jinja2's generated code writes str(value), or escape(value) under autoescape.
    if autoescape:
        return lambda context: html_escape(value(context))
    return lambda context: str(value(context))


def _name_output(name: str, autoescape: bool) -> Callable[[Context], str]:
    """``{{ name }}``, the most common piece, in one call."""
    if autoescape:
        return lambda context: html_escape(context[name])

    def text(context: Context) -> str:
        value = context[name]
        return value if type(value) is str else str(value)

    return text


def _if(node: nodes.If, autoescape: bool) -> Callable[[Context], str] | None:
    branches: list[tuple[Expression, Pieces]] = []
    for test_node, body in [(node.test, node.body)] + [(e.test, e.body) for e in node.elif_]:
        test = _expression(test_node)
        pieces = _statements(body, autoescape=autoescape)
        if test is None or pieces is None:
            return None
        branches.append((test, pieces))
    otherwise = _statements(node.else_, autoescape=autoescape)
    if otherwise is None:
        return None
    fallback: Pieces = otherwise

    def run(context: Context) -> str:
        for test, pieces in branches:
            if test(context):
                return join(pieces, context)
        return join(fallback, context)

    return run


def _expression(node: nodes.Node) -> Expression | None:
    if isinstance(node, nodes.Name):
        if node.ctx != "load" or node.name in _SPECIAL_NAMES:
            return None
        return operator.itemgetter(node.name)
    if isinstance(node, nodes.Const):
        constant = node.value
        return lambda _context: constant
    if isinstance(node, nodes.Not):
        inner = _expression(node.node)
        return None if inner is None else (lambda context: not inner(context))
    if isinstance(node, nodes.Or | nodes.And):
        return _logical(node)
    if isinstance(node, nodes.CondExpr):
        return _conditional(node)
    if isinstance(node, nodes.Compare):
        return _compare(node)
    if isinstance(node, nodes.Filter):
        return _filter(node)
    return None


def _filter(node: nodes.Filter) -> Expression | None:
    if node.name not in _FILTERS or node.node is None or node.kwargs:
        return None
    if node.dyn_args is not None or node.dyn_kwargs is not None:
        return None
    function = DEFAULT_FILTERS[node.name]
    value = _expression(node.node)
    arguments = [_expression(argument) for argument in node.args]
    if value is None:
        return None
    given: list[Expression] = [argument for argument in arguments if argument is not None]
    if len(given) != len(arguments):
        return None
    if not given:
        return lambda context: function(value(context))
    return lambda context: function(value(context), *[argument(context) for argument in given])


def _logical(node: nodes.Or | nodes.And) -> Expression | None:
    left, right = _expression(node.left), _expression(node.right)
    if left is None or right is None:
        return None
    if isinstance(node, nodes.Or):
        return lambda context: left(context) or right(context)
    return lambda context: left(context) and right(context)


def _conditional(node: nodes.CondExpr) -> Expression | None:
    if node.expr2 is None:  # no else: Jinja2 yields an Undefined with its own message
        return None
    test, yes, no = _expression(node.test), _expression(node.expr1), _expression(node.expr2)
    if test is None or yes is None or no is None:
        return None
    return lambda context: yes(context) if test(context) else no(context)


def _compare(node: nodes.Compare) -> Expression | None:
    first = _expression(node.expr)
    steps: list[tuple[Callable[[Any, Any], Any], Expression]] = []
    for operand in node.ops:
        function, value = _COMPARISONS.get(operand.op), _expression(operand.expr)
        if function is None or value is None:
            return None
        steps.append((function, value))
    if first is None:
        return None
    start: Expression = first

    def run(context: Context) -> Any:
        # Python's chained comparison, as Jinja2 compiles it: each operand evaluated once.
        left = start(context)
        result: Any = True
        for function, value in steps:
            right = value(context)
            result = function(left, right)
            if not result:
                return result
            left = right
        return result

    return run
