"""Golden messages: the exact bytes ``MessageTemplate.render`` produced before composition
was made fast (issue 2 "Composition must be fast"), pinned so speed work changes no octet.

Each case of ``CASES`` is rendered with a fixed date, Message-ID, token and MIME boundary and
compared with ``tests/data/compose/<case>.eml``. Those files were written by the composer as
it was before the fast path (commit 2804af2), from this same table.
"""

from __future__ import annotations

import secrets
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, NamedTuple

import pytest

from mailbounce.compose import MessageSpec, MessageTemplate
from mailbounce.smtp_wire import wire_data

GOLDEN = Path(__file__).resolve().parent / "data" / "compose"
EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
DATE = datetime(2026, 11, 20, 10, 0, 7, 123456, tzinfo=UTC)
MESSAGE_ID = "<golden.nov-2026@amis.example>"
BOUNDARY_HEX = "0123456789abcdef0123456789abcdef"
BOUNDARY = "=_mb_" + BOUNDARY_HEX

FRENCH = (
    "Voici la lettre de novembre des Amis du Vieux Moulin : l'assemblée générale aura lieu "
    "samedi 12 décembre à 14 h, salle des fêtes. Merci aux bénévoles du chantier d'octobre.\n"
)
PEOPLE = {"first_name": "Jérôme", "last_name": "Thomas", "ville": "Besançon"}


class Case(NamedTuple):
    spec: dict[str, Any]
    fields: dict[str, str]
    columns: tuple[str, ...] = ("ville",)
    token: str | None = "abc234"
    eight_bit: bool = False
    address: str = "jerome@example.fr"


def _examples() -> dict[str, str]:
    return {
        "subject": "{{ first_name or 'Bonjour' }}, la lettre",
        "text": (EXAMPLES / "newsletter.txt").read_text(encoding="utf-8"),
        "html": (EXAMPLES / "newsletter.html").read_text(encoding="utf-8"),
        "list_unsubscribe_url": "https://amis.example/d/{{ token }}",
    }


_EXAMPLE_COLUMNS = ("ville", "adhesion")
_LATE = {"first_name": "", "last_name": "Roux", "ville": "", "adhesion": "en retard"}
_ODD_LINES = (
    "From the desk of {{ first_name }}\n.\n.hidden line\n..\nFrom here\n"
    "trailing spaces   \ntrailing tab\t\n{{ ville }}   \n. {{ ville }}\n"
)

CASES: dict[str, Case] = {
    "text_only_ascii": Case(
        {"subject": "News for {{ first_name }}", "text": "Hello {{ first_name }},\nplain.\n"},
        {"first_name": "Ann", "last_name": "Lee", "ville": "Dole"},
    ),
    "html_only": Case(
        {"subject": "Lettre", "text": None, "html": "<p>Bonjour {{ first_name }}</p>\n"},
        PEOPLE,
    ),
    "multipart_french_qp": Case(
        {
            "subject": "{{ first_name }}, la lettre de novembre",
            "text": "Bonjour {{ first_name }},\n\n" + FRENCH * 6 + "\nÀ bientôt à {{ ville }} !\n",
            "html": "<p>Bonjour {{ first_name }},</p>\n"
            + ("<p>" + FRENCH.strip() + "</p>\n") * 6
            + '<p>À bientôt à {{ ville }} ! <a href="{{ unsubscribe_url }}">Se désinscrire</a>'
            "</p>\n",
            "list_unsubscribe_mailto": "desinscription@amis.example",
            "list_unsubscribe_url": "https://amis.example/d/{{ token }}",
        },
        {"first_name": "Élodie", "last_name": "Dupré 7", "ville": "Besançon"},
    ),
    "multipart_french_8bit": Case(
        {
            "subject": "{{ first_name }}, la lettre",
            "text": "Bonjour {{ first_name }},\n\n" + FRENCH * 3,
            "html": "<p>Bonjour {{ first_name }},</p>\n<p>" + FRENCH + "</p>",
        },
        PEOPLE,
        eight_bit=True,
    ),
    "long_lines_qp": Case(
        {
            "subject": "x" * 1500,
            "text": "é" + "a" * 3000 + "\n" + "b" * 1200 + "\n{{ ville }}",
            "html": None,
        },
        PEOPLE,
    ),
    "long_lines_8bit_falls_back": Case(
        {"subject": "Long", "text": "é{{ ville }}" + "a" * 1100 + "\nfin\n", "html": None},
        PEOPLE,
        eight_bit=True,
    ),
    "long_ascii_line_qp": Case(
        {"subject": "Long", "text": "Hi {{ ville }} " + "z" * 999 + "\nend\n", "html": None},
        {"first_name": "A", "last_name": "B", "ville": "Dole"},
    ),
    "from_and_dot_lines_7bit": Case(
        {"subject": "Dots", "text": _ODD_LINES, "html": None},
        {"first_name": "Ann", "last_name": "", "ville": "Dole"},
    ),
    "from_and_dot_lines_qp": Case(
        {"subject": "Dots", "text": "Été\n" + _ODD_LINES, "html": ".{{ ville }}\n.\n"},
        {"first_name": "Ann", "last_name": "", "ville": "Dôle"},
    ),
    "from_and_dot_lines_8bit": Case(
        {"subject": "Dots", "text": "Été\n" + _ODD_LINES, "html": None},
        {"first_name": "Ann", "last_name": "", "ville": "Dôle"},
        eight_bit=True,
    ),
    "empty_variables": Case(
        {"subject": "{{ first_name }}{{ ville }}", "text": "{{ first_name }}{{ ville }}"},
        {"first_name": "", "last_name": "", "ville": ""},
    ),
    "empty_body_line_and_no_final_newline": Case(
        {"subject": "S", "text": "Bonjour{{ ville }}\n{{ ville }}", "html": "{{ ville }}"},
        {"first_name": "", "last_name": "", "ville": ""},
    ),
    "variable_ends_body": Case(
        {"subject": "S", "text": "Ville : {{ ville }}", "html": "<p>{{ ville }}</p>"},
        PEOPLE,
    ),
    "non_ascii_names": Case(
        {"subject": "Pour {{ first_name }} {{ last_name }} — {{ ville }}", "text": "x\n"},
        {"first_name": "Zoë Ødegård", "last_name": "王小明 (李)", "ville": "Zürich"},
    ),
    "non_ascii_address": Case(
        {"subject": "S", "text": "x {{ email }}\n"},
        {"first_name": "Zoé", "last_name": "", "ville": ""},
        address="zoé@exemple.fr",
    ),
    "quoted_display_name": Case(
        {"subject": "S", "text": "x\n"},
        {"first_name": 'Jean "Jo"', "last_name": "Dupont, (fils)", "ville": ""},
    ),
    "base64_cyrillic": Case(
        {"subject": "Привет, {{ first_name }}", "text": "Здравствуйте, {{ first_name }}!\n" * 9},
        {"first_name": "Иван", "last_name": "Петров", "ville": ""},
    ),
    "base64_cyrillic_8bit": Case(
        {"subject": "S", "text": "Здравствуйте, {{ first_name }}!\n" * 9, "html": "<p>Я</p>"},
        {"first_name": "Иван", "last_name": "", "ville": ""},
        eight_bit=True,
    ),
    "boundary_in_body": Case(
        {"subject": "S", "text": "a\n--" + BOUNDARY + "\nb\n", "html": "<p>{{ ville }}</p>\n"},
        PEOPLE,
    ),
    "boundary_in_value": Case(
        {"subject": "S", "text": "a\n{{ ville }}\n", "html": "<p>é{{ ville }}</p>\n"},
        {"first_name": "", "last_name": "", "ville": "x--" + BOUNDARY},
        eight_bit=True,
    ),
    "line_breaks_in_values": Case(
        {
            "subject": "Bonjour {{ first_name }} {{ last_name }}",
            "text": "Bonjour {{ first_name }}\n{{ ville }}\nfin\r\n",
            "html": "<p>{{ first_name }}</p>\r\n",
        },
        {
            "first_name": "Jean\r\nBcc: victim@evil.example",
            "last_name": "Dupont\rX-Injected: yes\u2028z",
            "ville": "a\r",
        },
        token="abc\r\nBcc: x@evil.example",
        address="a@b.fr\r\nCc: y@e.fr",
    ),
    "carriage_return_meets_newline": Case(
        {"subject": "S", "text": "{{ ville }}\nnext{{ ville }}\n\n", "html": None},
        {"first_name": "", "last_name": "", "ville": "\r"},
    ),
    "html_escaping": Case(
        {
            "subject": "{{ first_name }} & co",
            "text": "{{ first_name }} {{ ville }}\n",
            "html": '<p title="{{ ville }}">{{ first_name }}</p>\n',
        },
        {"first_name": "<b>Zoé</b> & co", "last_name": "", "ville": 'l\'"été"'},
    ),
    "unsubscribe_mailto_only_no_token": Case(
        {"subject": "S", "text": "x\n", "list_unsubscribe_mailto": "mailto:d+x@amis.example"},
        PEOPLE,
        token=None,
    ),
    "unsubscribe_url_with_values": Case(
        {
            "subject": "S",
            "text": "Désinscription : {{ unsubscribe_url }}\n",
            "html": None,
            "list_unsubscribe_url": "https://amis.example/d?qui={{ first_name }}&t={{ token }}",
        },
        PEOPLE,
    ),
    "reply_to_and_extra_headers": Case(
        {
            "subject": "S",
            "text": "x\n",
            "reply_to": "Bureau de l'été <bureau@amis.example>",
            "extra_headers": {"X-Campagne": "Novembre — été", "Precedence": "bulk"},
        },
        PEOPLE,
    ),
    "dot_starts_a_header_and_lines": Case(
        {
            "subject": "S",
            # Quoted-printable's soft line break puts the dot of ".x" at a line start.
            "text": ".{{ ville }}\n..\né" + "a" * 69 + ".x\n",
            "extra_headers": {".X-Dot": "v"},
        },
        PEOPLE,
    ),
    "builtins": Case(
        {
            "subject": "{{ campaign }} {{ email }}",
            "text": "{{ email }} {{ first_name }} {{ last_name }} {{ token }} {{ campaign }}\n",
        },
        {"first_name": "A", "last_name": "B", "ville": "", "email": "column@x.fr"},
        columns=("ville", "email"),
    ),
    "control_flow_and_filters": Case(
        {
            "subject": "{{ first_name | upper }}{% if ville %} à {{ ville }}{% endif %}",
            "text": "{% set g = 'Salut' %}{{ g }} {{ first_name|title }}\n"
            "{% for c in ville %}[{{ c }}]{% endfor %}\n{{ ville if ville else 'nulle part' }}\n"
            "{{ 'oui' if first_name == 'jérôme' }}\n",
            "html": "{% if ville != '' and not first_name %}<p>{{ ville }}</p>"
            "{% elif first_name %}<p>{{ first_name ~ '!' }}</p>{% else %}<p>-</p>{% endif %}\n",
        },
        {"first_name": "jérôme", "last_name": "", "ville": "Lyon"},
    ),
    "examples_newsletter_late_member": Case(_examples(), _LATE, columns=_EXAMPLE_COLUMNS),
    "examples_newsletter_member_8bit": Case(
        _examples(),
        {"first_name": "Élise", "last_name": "Roux", "ville": "Dole", "adhesion": "à jour"},
        columns=_EXAMPLE_COLUMNS,
        eight_bit=True,
    ),
}


def render_case(
    case: Case,
    template_class: Any = MessageTemplate,
    spec_class: Any = MessageSpec,
    method: str = "render",
) -> bytes:
    values: dict[str, Any] = {
        "from_addr": "Les Amis du Vieux Moulin <lettre@amis.example>",
        "text": None,
        "html": None,
    }
    values.update(case.spec)
    template = template_class(spec_class(**values), columns=case.columns, domain="amis.example")
    data = getattr(template, method)(
        address=case.address,
        fields=case.fields,
        message_id=MESSAGE_ID,
        token=case.token,
        campaign="nov-2026",
        date=DATE,
        eight_bit=case.eight_bit,
    )
    assert isinstance(data, bytes)
    return data


@pytest.fixture(autouse=True)
def _fixed_boundary(monkeypatch: pytest.MonkeyPatch) -> None:
    # The boundary is random per campaign (a fixed one could appear in a body); pin it.
    monkeypatch.setattr(secrets, "token_hex", lambda _size=None: BOUNDARY_HEX)


@pytest.mark.parametrize("name", sorted(CASES))
def test_golden_bytes(name: str) -> None:
    expected = (GOLDEN / f"{name}.eml").read_bytes()
    assert render_case(CASES[name]) == expected


@pytest.mark.parametrize("name", sorted(CASES))
def test_smtp_data_is_the_golden_message_dot_stuffed(name: str) -> None:
    """render_data: the DATA payload smtp_wire.wire_data makes of the same message."""
    expected = wire_data((GOLDEN / f"{name}.eml").read_bytes())
    assert render_case(CASES[name], method="render_data") == expected


def test_every_golden_file_has_a_case() -> None:
    assert sorted(path.stem for path in GOLDEN.glob("*.eml")) == sorted(CASES)


def test_rendering_twice_gives_the_same_bytes() -> None:
    """Caches kept between recipients never leak one recipient's text into another's."""
    for case in CASES.values():
        values: dict[str, Any] = {"from_addr": "a@amis.example", "text": None, "html": None}
        values.update(case.spec)
        template = MessageTemplate(MessageSpec(**values), columns=case.columns, domain="a.fr")
        first = _render(template, case, case.address, case.fields, case.token)
        other = dict.fromkeys(case.fields, "autre valeur")
        _render(template, case, "o@a.fr", other, "zz")
        assert _render(template, case, case.address, case.fields, case.token) == first


def _render(
    template: MessageTemplate,
    case: Case,
    address: str,
    fields: dict[str, str],
    token: str | None,
) -> bytes:
    return template.render(
        address=address,
        fields=fields,
        message_id=f"<{address}>",
        token=token,
        campaign="c",
        date=DATE,
        eight_bit=case.eight_bit,
    )
