"""Message composition: parsed back with the email package, every header and part checked."""

from __future__ import annotations

import re
from base64 import b64decode
from datetime import UTC, datetime, timedelta, timezone
from email import message_from_bytes, policy
from email.header import decode_header
from email.message import EmailMessage
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mailbounce.compose import MessageSpec, MessageTemplate
from mailbounce.compose_body import encode_body
from mailbounce.compose_headers import encode_words, header_text
from mailbounce.errors import ConfigError, TemplateError
from mailbounce.lists import ListReader
from mailbounce.message_ids import make_message_id

SAMPLES = Path(__file__).resolve().parent / "data" / "lists"
DATE = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)


def spec(**changes: Any) -> MessageSpec:
    values: dict[str, Any] = {
        "from_addr": "Les Amis du Vieux Moulin <lettre@amis.example>",
        "subject": "{{ first_name }}, la lettre de {{ ville }}",
        "text": "Bonjour {{ first_name }},\nÀ bientôt à {{ ville }}.\n",
        "html": "<p>Bonjour {{ first_name }},</p>\n<p>À bientôt à {{ ville }}.</p>\n",
    }
    values.update(changes)
    return MessageSpec(**values)


def render(
    message_spec: MessageSpec,
    fields: dict[str, str] | None = None,
    *,
    token: str | None = "abc234",
    address: str = "jerome@example.fr",
    columns: tuple[str, ...] = ("ville",),
) -> tuple[bytes, EmailMessage]:
    template = MessageTemplate(message_spec, columns=columns, domain="amis.example")
    data = template.render(
        address=address,
        fields=fields
        if fields is not None
        else {"first_name": "Jérôme", "last_name": "Thomas", "ville": "Besançon"},
        message_id=make_message_id("nov-2026", address, "amis.example"),
        token=token,
        campaign="nov-2026",
        date=DATE,
    )
    parsed = message_from_bytes(data, policy=policy.default)
    assert isinstance(parsed, EmailMessage)
    return data, parsed


def assert_wire_clean(data: bytes) -> None:
    """CRLF only, no bare CR or LF, no line over 998 octets (RFC 5322 §2.1.1)."""
    assert b"\r\n" in data
    assert re.search(rb"\r(?!\n)|(?<!\r)\n", data) is None
    assert all(len(line) <= 998 for line in data.split(b"\r\n"))


def test_multipart_message_headers_and_parts() -> None:
    data, msg = render(
        spec(
            reply_to="bureau@amis.example",
            list_unsubscribe_mailto="desinscription@amis.example",
            list_unsubscribe_url="https://amis.example/d/{{ token }}",
        )
    )
    assert_wire_clean(data)
    assert msg["From"] == "Les Amis du Vieux Moulin <lettre@amis.example>"
    assert msg["Reply-To"] == "bureau@amis.example"
    assert msg["To"].addresses[0].display_name == "Jérôme Thomas"
    assert msg["To"].addresses[0].addr_spec == "jerome@example.fr"
    assert msg["Subject"] == "Jérôme, la lettre de Besançon"
    assert parsedate_to_datetime(msg["Date"]) == DATE
    assert msg["Message-ID"] == make_message_id("nov-2026", "jerome@example.fr", "amis.example")
    assert msg["MIME-Version"] == "1.0"
    assert msg["List-Unsubscribe"] == (
        "<mailto:desinscription@amis.example>, <https://amis.example/d/abc234>"
    )
    assert msg["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert msg["X-Mailbounce-Token"] == "abc234"
    assert msg.get_content_type() == "multipart/alternative"
    parts = list(msg.iter_parts())
    assert [p.get_content_type() for p in parts] == ["text/plain", "text/html"]
    assert all(p.get_content_charset() == "utf-8" for p in parts)
    assert parts[0].get_content() == "Bonjour Jérôme,\r\nÀ bientôt à Besançon.\r\n"
    assert parts[1].get_content() == ("<p>Bonjour Jérôme,</p>\r\n<p>À bientôt à Besançon.</p>\r\n")
    assert data.count(b"\r\n\r\n") >= 3  # headers, then each part's headers


def test_every_header_is_expected() -> None:
    _, msg = render(spec(list_unsubscribe_mailto="d@amis.example"))
    assert sorted(msg.keys()) == sorted(
        [
            "From",
            "MIME-Version",
            "To",
            "Subject",
            "Date",
            "Message-ID",
            "List-Unsubscribe",
            "X-Mailbounce-Token",
            "Content-Type",
        ]
    )


@pytest.mark.parametrize(
    ("kind", "changes"),
    [("text/plain", {"html": None}), ("text/html", {"text": None})],
)
def test_single_part(kind: str, changes: dict[str, Any]) -> None:
    data, msg = render(spec(**changes))
    assert_wire_clean(data)
    assert msg.get_content_type() == kind
    assert "Besançon" in msg.get_content()


def test_no_body_is_an_error() -> None:
    with pytest.raises(TemplateError, match="neither a text nor an HTML body"):
        MessageTemplate(spec(text=None, html=None), columns=(), domain="amis.example")


def test_no_unsubscribe_and_no_token() -> None:
    _, msg = render(spec(), token=None)
    assert "List-Unsubscribe" not in msg
    assert "List-Unsubscribe-Post" not in msg
    assert "X-Mailbounce-Token" not in msg


def test_mailto_only_has_no_one_click_post() -> None:
    _, msg = render(spec(list_unsubscribe_mailto="mailto:d@amis.example"))
    assert msg["List-Unsubscribe"] == "<mailto:d@amis.example>"
    assert "List-Unsubscribe-Post" not in msg


def test_unsubscribe_url_must_be_https() -> None:
    with pytest.raises(ConfigError, match="https://"):
        MessageTemplate(
            spec(list_unsubscribe_url="http://amis.example/d"), columns=("ville",), domain="a.fr"
        )


def test_unsubscribe_url_is_percent_encoded_and_available_to_bodies() -> None:
    _, msg = render(
        spec(
            list_unsubscribe_url="https://amis.example/d?qui={{ first_name }}&t={{ token }}",
            text="Désinscription : {{ unsubscribe_url }}\n",
            html=None,
        )
    )
    url = "https://amis.example/d?qui=J%C3%A9r%C3%B4me&t=abc234"
    assert msg["List-Unsubscribe"] == f"<{url}>"
    assert url in msg.get_content()


def test_header_injection_from_a_csv_name_cannot_add_a_header() -> None:
    entry = next(iter(ListReader(SAMPLES / "crlf_in_name.csv")))
    assert "\r\nBcc:" in entry.fields["first_name"]
    data, msg = render(
        spec(
            subject="Bonjour {{ first_name }} {{ last_name }}",
            text="Bonjour {{ first_name }}\n",
            html=None,
        ),
        entry.fields,
        address=entry.address or "",
        columns=ListReader(SAMPLES / "crlf_in_name.csv").columns,
    )
    assert_wire_clean(data)
    head = data.split(b"\r\n\r\n", 1)[0]
    assert not re.search(rb"(?im)^(bcc|x-injected):", head)
    assert "Bcc" not in msg and "X-Injected" not in msg
    assert msg["Subject"] == "Bonjour Jean Bcc: victim@evil.example Dupont X-Injected: yes"
    assert msg["To"].addresses[0].addr_spec == "x@example.fr"
    # The body keeps the data: it is text there, not a header.
    assert "Jean\r\nBcc: victim@evil.example" in msg.get_content()


def test_injection_through_the_address_and_token_is_folded() -> None:
    _, msg = render(
        spec(html=None), token="abc\r\nBcc: x@evil.example", address="a@b.fr\r\nCc: y@e.fr"
    )
    assert "Bcc" not in msg and "Cc" not in msg


def test_html_escapes_list_values_text_does_not() -> None:
    fields = {"first_name": "<b>Zoé</b> & co", "last_name": "", "ville": "Dole"}
    _, msg = render(spec(), fields)
    text, html = (p.get_content() for p in msg.iter_parts())
    assert "<b>Zoé</b> & co" in text
    assert "&lt;b&gt;Zoé&lt;/b&gt; &amp; co" in html


def test_unknown_variable_is_named_before_sending() -> None:
    with pytest.raises(TemplateError, match=r"^newsletter\.txt: unknown variable 'code_postal'"):
        MessageTemplate(
            spec(text="{{ code_postal }}", text_name="newsletter.txt"),
            columns=("ville",),
            domain="amis.example",
        )
    with pytest.raises(TemplateError, match=r"^subject: unknown variable 'prenom'"):
        MessageTemplate(spec(subject="{{ prenom }}"), columns=("ville",), domain="amis.example")


def test_builtins_and_template_locals_are_known() -> None:
    source = (
        "{% set greeting = 'Bonjour' %}{{ greeting }} {{ email }} {{ last_name }} "
        "{{ token }} {{ campaign }} {{ unsubscribe_url }}{% for c in 'ab' %}{{ c }}{% endfor %}"
    )
    _, msg = render(spec(text=source, html=None))
    assert msg.get_content().startswith("Bonjour jerome@example.fr Thomas abc234 nov-2026 ab")


def test_syntax_error_names_template_and_line() -> None:
    with pytest.raises(TemplateError, match=r"^news\.html:3: template syntax error"):
        MessageTemplate(
            spec(html="<p>\n<p>\n{% if %}\n", html_name="news.html"),
            columns=("ville",),
            domain="amis.example",
        )


def test_runtime_template_error_is_a_template_error() -> None:
    with pytest.raises(TemplateError, match=r"^text: "):
        render(spec(text="{{ ville.nope }}", html=None))
    with pytest.raises(TemplateError, match=r"^text: "):
        render(spec(text="{{ ville.__class__.__mro__ }}", html=None))


def test_message_id_is_stable_per_campaign_and_address() -> None:
    first = make_message_id("nov-2026", "Jean@Example.fr", "amis.example")
    assert first == make_message_id("nov-2026", "jean@example.fr", "amis.example")
    assert first != make_message_id("dec-2026", "jean@example.fr", "amis.example")
    assert first != make_message_id("nov-2026", "zoe@example.fr", "amis.example")
    assert re.fullmatch(r"<[a-z2-7]+\.nov-2026@amis\.example>", first)
    assert make_message_id("Lettre d'été !", "a@b.fr", "x.fr").endswith(".Lettre-d-t@x.fr>")
    with pytest.raises(ConfigError, match="not a domain"):
        make_message_id("c", "a@b.fr", "bad domain")
    assert make_message_id("c", "a@b.fr", "amis-du-théâtre.fr").endswith(
        "@xn--amis-du-thtre-reb8h.fr>"
    )


def test_from_must_be_an_address() -> None:
    with pytest.raises(ConfigError, match="From address"):
        MessageTemplate(spec(from_addr="Les Amis"), columns=("ville",), domain="amis.example")


def test_extra_headers() -> None:
    _, msg = render(spec(extra_headers={"X-Campagne": "Novembre — été", "Precedence": "bulk"}))
    assert msg["X-Campagne"] == "Novembre — été"
    assert msg["Precedence"] == "bulk"
    for bad in ("Subject", "bcc", "Bad Name", "X:Y"):
        with pytest.raises(ConfigError, match="extra header"):
            MessageTemplate(spec(extra_headers={bad: "v"}), columns=("ville",), domain="a.fr")


def test_display_names_with_specials_are_quoted() -> None:
    fields = {"first_name": 'Jean "Jo"', "last_name": "Dupont, (fils)", "ville": "Dole"}
    _, msg = render(spec(), fields)
    assert msg["To"].addresses[0].display_name == 'Jean "Jo" Dupont, (fils)'
    _, msg = render(spec(), {"first_name": "", "last_name": "", "ville": "Dole"})
    assert msg["To"] == "jerome@example.fr"


@pytest.mark.parametrize(
    ("body", "encoding"),
    [
        ("Hello,\nplain ASCII.\n", "7bit"),
        ("Bonjour, voilà l'été.\n", "quoted-printable"),
        ("x" * 2000 + "\n", "quoted-printable"),
        ("Здравствуйте, это письмо.\n", "base64"),
        ("--=_mb_x in an ascii body\n", "quoted-printable"),
    ],
)
def test_body_encoding_choice(body: str, encoding: str) -> None:
    chosen, encoded = encode_body(body, "=_mb_x")
    assert chosen == encoding
    assert_wire_clean(encoded.encode())


def test_long_lines_are_wrapped_and_decode_back() -> None:
    text = "é" + "a" * 3000 + "\n" + "b" * 1200
    data, msg = render(spec(text=text, html=None, subject="x" * 1500))
    assert_wire_clean(data)
    assert msg.get_content() == text.replace("\n", "\r\n") + "\r\n"
    assert msg["Subject"] == "x" * 1500


def display_name(data: bytes) -> str:
    """The To display name decoded per RFC 2047 §6.2, which drops the white space between
    adjacent encoded-words (the email package's address parser keeps it as a space)."""
    head = data.split(b"\r\n\r\n", 1)[0].decode("utf-8").replace("\r\n ", " ")
    line = next(line for line in head.split("\r\n") if line.startswith("To: "))
    raw = re.fullmatch(r"To: (.*) <jerome@example\.fr>", line)
    if raw is None:
        return ""
    if "=?" not in raw.group(1):
        parsed = message_from_bytes(data, policy=policy.default)["To"]
        return str(parsed.addresses[0].display_name)
    return "".join(
        part.decode(charset or "ascii") if isinstance(part, bytes) else part
        for part, charset in decode_header(raw.group(1))
    )


_names = st.text(
    st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=60
)


@given(first=_names, last=_names, subject=_names, body=_names)
@settings(max_examples=200, deadline=None)
def test_round_trip_through_the_email_parser(
    first: str, last: str, subject: str, body: str
) -> None:
    data, msg = render(
        spec(subject="{{ s }}", text="{{ b }}", html="<p>{{ b }}</p>"),
        {"first_name": first, "last_name": last, "s": subject, "b": body},
        columns=("s", "b"),
    )
    assert_wire_clean(data)
    assert msg["Subject"] == header_text(subject)
    name = header_text(" ".join(p for p in (first.strip(), last.strip()) if p))
    assert display_name(data) == name
    assert msg["To"].addresses[0].addr_spec == "jerome@example.fr"
    expected = body.replace("\r\n", "\n").replace("\r", "\n")
    if not expected.endswith("\n"):
        expected += "\n"
    text = msg.get_body(("plain",))
    assert text is not None
    assert text.get_content() == expected.replace("\n", "\r\n")


@given(st.text(st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=300))
def test_encoded_words_are_short_and_whole(text: str) -> None:
    folded = encode_words(text)
    words = folded.split("\r\n ")
    assert all(len(word) <= 75 for word in words)  # RFC 2047 §2
    # Each word decodes on its own: no character is split across two words (§5).
    decoded = [b64decode(word[len("=?utf-8?b?") : -2]).decode("utf-8") for word in words]
    assert "".join(decoded) == text


def test_the_example_campaign_templates() -> None:
    """examples/: the templates compile against the members list; every link is https."""
    examples = SAMPLES.parent.parent.parent / "examples"
    text = (examples / "newsletter.txt").read_text(encoding="utf-8")
    html = (examples / "newsletter.html").read_text(encoding="utf-8")
    assert "http://" not in text + html  # laposte.net refuses mail with http:// links
    reader = ListReader(examples / "members.csv")
    template = MessageTemplate(
        spec(
            subject="{{ first_name or 'Bonjour' }}, la lettre",
            text=text,
            html=html,
            list_unsubscribe_url="https://amis.example/d/{{ token }}",
        ),
        columns=reader.columns,
        domain="amis.example",
    )
    for entry in reader:
        if entry.address and not entry.problem:
            data = template.render(
                address=entry.address,
                fields=entry.fields,
                message_id="<x@amis.example>",
                token="tok",
                campaign="c",
            )
            assert_wire_clean(data)


def test_date_header_per_second_and_per_time_zone() -> None:
    """The Date text is reused within a second, never across seconds or time zones."""
    template = MessageTemplate(spec(html=None), columns=("ville",), domain="amis.example")
    paris = timezone(timedelta(hours=1))

    def date_line(moment: datetime) -> bytes:
        data = template.render(
            address="a@b.fr",
            fields={"ville": "Dole"},
            message_id="<m@a>",
            token=None,
            campaign="c",
            date=moment,
        )
        return next(line for line in data.split(b"\r\n") if line.startswith(b"Date: "))

    assert date_line(DATE) == b"Date: Fri, 20 Nov 2026 10:00:00 +0000"
    assert date_line(DATE.replace(microsecond=999_999)) == b"Date: Fri, 20 Nov 2026 10:00:00 +0000"
    assert date_line(DATE.astimezone(paris)) == b"Date: Fri, 20 Nov 2026 11:00:00 +0100"
    assert date_line(DATE + timedelta(seconds=1)) == b"Date: Fri, 20 Nov 2026 10:00:01 +0000"
