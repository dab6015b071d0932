"""The fast composer gives what Jinja2 and ``encode_body`` give, for any values.

``compose_fill`` fills the common template shapes without Jinja2 and ``compose_body`` encodes
a body from line runs measured once: both are checked here against the straightforward
path (a Jinja2 render of the whole template, then ``encode_body`` on the whole text), on
generated templates and values, including the awkward ones (line breaks in values, a CR
meeting a template's LF, lines over 998 octets, the MIME boundary inside, mostly-Cyrillic
text that goes base64).
"""

from __future__ import annotations

import itertools
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from jinja2 import StrictUndefined
from jinja2.sandbox import SandboxedEnvironment
from markupsafe import Markup, escape

from mailbounce.compose import MessageSpec, MessageTemplate
from mailbounce.compose_body import Lines, PartEncoder, encode_body
from mailbounce.compose_fill import Filler, html_escape, layout
from mailbounce.compose_headers import header_text
from mailbounce.errors import TemplateError
from mailbounce.smtp_wire import wire_data

BOUNDARY = "=_mb_0123456789abcdef"
NAMES = ("a", "b", "ville")


def environment(autoescape: bool) -> SandboxedEnvironment:
    return SandboxedEnvironment(
        undefined=StrictUndefined, autoescape=autoescape, keep_trailing_newline=True
    )


def filler(source: str, autoescape: bool) -> Filler:
    env = environment(autoescape)
    return Filler("text", source, env.parse(source), env)


def jinja(source: str, autoescape: bool, context: dict[str, Any]) -> str:
    return str(environment(autoescape).from_string(source).render(context))


# Text between template tags: accents, HTML specials, every kind of line break, long runs.
_text = st.lists(
    st.sampled_from(["a", "é", "Ж", " ", "\t", "\n", "\r", "\r\n", ".", "<", "&", "'", '"', "="])
    | st.just("\n.")
    | st.just("x" * 600)
    | st.just("--" + BOUNDARY),
    max_size=12,
).map("".join)
_name = st.sampled_from(NAMES)
_literal = st.sampled_from(["''", "'x'", "'é<b>'", "1", "true", "none"])
_operand = _name | _literal
_test = st.one_of(
    _name,
    _literal,
    st.builds("{} or {}".format, _name, _operand),
    st.builds("{} and {}".format, _name, _operand),
    st.builds("not {}".format, _name),
    st.builds("{} == {}".format, _name, _operand),
    st.builds("{} != {}".format, _name, _operand),
    st.builds("{} in {}".format, _name | st.sampled_from(["'x'", "''"]), _name),
    st.builds("{} < {} <= {}".format, _name, _name, _name),
)
_filtered = st.builds(
    "{}|{}".format,
    _name | st.sampled_from(["'  é<b>X  '"]),
    st.sampled_from(["upper", "lower", "capitalize", "title", "trim", "e", "escape", "striptags"])
    | st.just("trim('xé ')"),
)
# Jinja2 does not parse a conditional expression as an if/elif test: outputs only.
_expression = _test | _filtered | st.builds("{} if {} else {}".format, _operand, _name, _operand)
_output = _expression.map(lambda expression: "{{ " + expression + " }}")


def _if(body: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    return st.builds(
        "{{% if {} %}}{}{{% elif {} %}}{}{{% else %}}{}{{% endif %}}".format,
        _test,
        body,
        _test,
        body,
        body,
    )


_body = st.lists(_text | _output, max_size=4).map("".join)
_template = st.lists(_text | _output | _if(_body), max_size=8).map("".join)
_value = st.lists(
    st.sampled_from(["a", "é", "Ж", " ", "\n", "\r", "<", "&", "'", '"', ".", "x" * 400]),
    max_size=8,
).map("".join) | st.just("--" + BOUNDARY)
_values = st.fixed_dictionaries(dict.fromkeys(NAMES, _value))
# Outside the fast subset: filters, attributes, loops, assignments (Jinja2 renders them).
_jinja_only = st.sampled_from(
    [
        "{{ a | replace('a', 'b') }}\n",
        "{% for c in b %}[{{ c }}]\n{% endfor %}",
        "{% set g = a %}{{ g }}\n",
        "{{ a ~ b }}\n",
        "{{ 'x' if a }}\n",
    ]
)


@given(_template, _values, st.booleans())
@settings(max_examples=250, deadline=None)
def test_fill_is_what_jinja_renders(source: str, values: dict[str, str], autoescape: bool) -> None:
    compiled = filler(source, autoescape)
    assert compiled.pieces is not None  # every generated shape is in the fast subset
    assert compiled.fill(values) == jinja(source, autoescape, values)


@given(_template, _values, st.booleans(), st.booleans(), _jinja_only | st.just(""))
@settings(max_examples=250, deadline=None)
def test_part_encoding_is_encode_body_of_the_render(
    source: str, values: dict[str, str], autoescape: bool, eight_bit: bool, extra: str
) -> None:
    source += extra
    part = PartEncoder(filler(source, autoescape), BOUNDARY)
    expected_encoding, expected = encode_body(
        jinja(source, autoescape, values), BOUNDARY, eight_bit=eight_bit
    )
    for _ in range(2):  # the second time from the caches
        encoding, encoded = part.encode(values, eight_bit)
        assert (encoding, encoded) == (expected_encoding, expected.encode("utf-8"))
        # As SMTP DATA: what smtp_wire.wire_data does to it, minus the terminator.
        _, data = part.encode(values, eight_bit, smtp_data=True)
        assert data + b".\r\n" == wire_data(encoded)


@given(_template)
def test_layout_keeps_the_text_and_cuts_after_line_breaks(source: str) -> None:
    compiled = filler(source, autoescape=False)
    assert compiled.pieces is not None
    items = layout(compiled.pieces)
    values = dict.fromkeys(NAMES, "v")
    texts = [item if isinstance(item, str) else compiled.join(item, values) for item in items]
    assert "".join(texts) == compiled.fill(values)
    assert all(text.endswith("\n") for text in texts[:-1])
    assert not any(isinstance(a, str) and isinstance(b, str) for a, b in itertools.pairwise(items))


@pytest.mark.parametrize(
    "source",
    [
        "Bonjour {{ ville }}\n",
        "{% if ville %}x{% endif %}\n",
        "{{ ville | upper }}\n",
        "{{ ville | e }}\n",
        "{{ ville | center }}\n",
    ],
)
@pytest.mark.parametrize("autoescape", [False, True])
def test_a_missing_value_is_the_strict_undefined_error(source: str, autoescape: bool) -> None:
    """A recipient without a value for a column: Jinja2's wording, on both paths."""
    with pytest.raises(TemplateError, match=r"^text: 'ville' is undefined$"):
        PartEncoder(filler(source, autoescape), BOUNDARY).encode({"a": "1"}, eight_bit=False)


@pytest.mark.parametrize("source", ["{{ 1 in ville }}\n", "{{ ville | int + ville }}\n"])
def test_a_type_mistake_in_a_template_is_a_template_error(source: str) -> None:
    with pytest.raises(TemplateError, match=r"^text: .*(requires string|unsupported operand)"):
        PartEncoder(filler(source, False), BOUNDARY).encode({"ville": "1"}, eight_bit=False)


def test_sandbox_still_guards_templates_outside_the_fast_subset() -> None:
    template = MessageTemplate(
        MessageSpec(
            from_addr="a@amis.example",
            subject="S",
            text="{{ ville.__class__.__mro__[1].__subclasses__() }}\n",
            html=None,
        ),
        columns=("ville",),
        domain="amis.example",
    )
    with pytest.raises(TemplateError, match=r"^text: .*unsafe"):
        template.render(
            address="a@b.fr", fields={"ville": "x"}, message_id="<m@a>", token=None, campaign="c"
        )


@given(st.text())
def test_html_escape_is_markupsafe_escape(text: str) -> None:
    assert html_escape(text) == str(escape(text))


def test_html_escape_leaves_markup_and_other_values_to_markupsafe() -> None:
    assert html_escape(Markup("<b>")) == "<b>"
    assert html_escape(12) == "12"
    assert html_escape(None) == "None"


@given(st.text())
def test_header_text_shortcut_is_the_full_rule(value: str) -> None:
    assert header_text(value) == " ".join(
        "".join(
            " " if c in "\x85\u2028\u2029" or ord(c) < 32 or c == "\x7f" else c for c in value
        ).split()
    )


@pytest.mark.parametrize(
    ("text", "html"),
    [
        ("Bonjour {{ first_name }},\n.début\n" + "Ligne fixe.\n" * 20, None),
        (None, "<p>{{ first_name }}</p>\n" + "<p>été</p>\n" * 30),
        ("{{ first_name }}\n" + "é" * 400 + "\n", "<p>{{ last_name }}</p>\n"),  # base64
        ("{{ first_name }}\n" + "a" * 1200 + "\n", None),  # quoted-printable
        ("{% for x in [1, 2] %}{{ first_name }}{% endfor %}\n", None),  # rendered by Jinja2
    ],
)
@pytest.mark.parametrize("eight_bit", [False, True])
def test_data_chunks_joined_are_render_data(
    text: str | None, html: str | None, eight_bit: bool
) -> None:
    """The send loop writes ``data_chunks`` as they are: together they are the payload."""
    template = MessageTemplate(
        MessageSpec(
            from_addr="Asso <a@amis.example>", subject="{{ first_name }}", text=text, html=html
        ),
        columns=("first_name", "last_name"),
        domain="amis.example",
    )
    for first, last in (("Zoë", ".Nom"), ("", ""), (".a", "b\r\nc")):
        values: dict[str, Any] = {
            "address": "x@example.org",
            "fields": {"first_name": first, "last_name": last},
            "message_id": "<m@amis.example>",
            "token": "tok",
            "campaign": "c",
            "eight_bit": eight_bit,
            "date": datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC),  # one Date for the three
        }
        chunks = template.data_chunks(**values)
        assert all(isinstance(chunk, bytes) for chunk in chunks)
        assert b"".join(chunks) == template.render_data(**values)
        assert b"".join(chunks) == wire_data(template.render(**values))


@given(st.text(alphabet=st.sampled_from(["a", "é", ".", "\n", "\r", " ", "-", "€"]), max_size=12))
def test_lines_of_one_line_are_measured_as_any_lines(text: str) -> None:
    """``Lines`` measures a single line without splitting it: the same figures and octets
    as the general rule (split at LF, CRLF line ends, leading dots doubled)."""
    lines = Lines(text, "-")
    normal = text.replace("\r\n", "\n").replace("\r", "\n")
    data = normal.encode("utf-8")
    crlf = data.replace(b"\n", b"\r\n")
    assert lines.longest == max(len(line) for line in data.split(b"\n"))
    assert lines.crlf == crlf
    assert lines.crlf_data == (b"." if crlf[:1] == b"." else b"") + crlf.replace(
        b"\r\n.", b"\r\n.."
    )
    assert (lines.chars, lines.growth, lines.ascii) == (
        len(normal),
        len(data) - len(normal),
        normal.isascii(),
    )
