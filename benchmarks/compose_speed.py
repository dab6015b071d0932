"""Messages per second: MessageTemplate.render against two baselines, in the same run.

All build the same message (From, To with a display name, templated Subject, Date,
Message-ID, List-Unsubscribe + Post, tracking header, multipart/alternative text + HTML
of about 5 KB, French accents) and produce wire bytes. Baselines:
- EmailMessage: what a straightforward implementation does: fill the templates with
  Jinja2, set headers and add both parts with the default policy, serialise with CRLF.
- Jinja2 + encode_body: the templates rendered whole by Jinja2 for each message and each
  body encoded whole (``compose_body.encode_body``), as MessageTemplate did before it
  encoded fixed lines once and filled simple templates without Jinja2 (issue 2).
MessageTemplate is also timed on the shape of ``examples/`` (``{{ a or 'b' }}`` and
``{% if %}`` blocks, still filled without Jinja2), with a ``replace`` filter (outside what
is filled without Jinja2: rendered by Jinja2), and as the SMTP DATA payload: ``render``
then ``smtp_wire.wire_data`` against ``render_data`` and ``data_chunks`` (the pieces the
send loop writes with one writev, never joined).
Figures: messages/s (wall clock) and CPU µs per message (time.process_time); on a
shared machine quote the CPU figure. Asserts nothing.
Run: .venv/bin/python benchmarks/compose_speed.py [MESSAGES]
"""

from __future__ import annotations

import sys
import time
from dataclasses import replace
from datetime import UTC, datetime
from email import policy
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path
from typing import Any

from jinja2 import StrictUndefined
from jinja2.sandbox import SandboxedEnvironment

from mailbounce.compose import MessageSpec, MessageTemplate
from mailbounce.compose_body import encode_body
from mailbounce.compose_headers import unstructured
from mailbounce.message_ids import make_message_id
from mailbounce.smtp_wire import wire_data

MESSAGES = int(sys.argv[1]) if len(sys.argv) > 1 else 3000
ROUNDS = 3
PARAGRAPH = (
    "Voici la lettre de novembre des Amis du Vieux Moulin : l'assemblée générale aura lieu "
    "samedi 12 décembre à 14 h, salle des fêtes. Merci aux bénévoles du chantier d'octobre.\n"
)
TEXT = "Bonjour {{ first_name }},\n\n" + PARAGRAPH * 14 + "\nÀ bientôt à {{ ville }} !\n"
HTML = (
    "<p>Bonjour {{ first_name }},</p>\n"
    + ("<p>" + PARAGRAPH.strip() + "</p>\n") * 14
    + '<p>À bientôt à {{ ville }} ! <a href="{{ unsubscribe_url }}">Se désinscrire</a></p>\n'
)
EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
SPEC = MessageSpec(
    from_addr="Les Amis du Vieux Moulin <lettre@amis.example>",
    subject="{{ first_name }}, la lettre de novembre",
    text=TEXT,
    html=HTML,
    list_unsubscribe_mailto="desinscription@amis.example",
    list_unsubscribe_url="https://amis.example/d/{{ token }}",
)


def recipients(count: int) -> list[tuple[str, dict[str, str]]]:
    return [
        (
            f"membre.{i}@orange.fr",
            {
                "first_name": "Élodie",
                "last_name": f"Dupré {i}",
                "ville": "Besançon",
                "adhesion": "en retard" if i % 3 else "à jour",
            },
        )
        for i in range(count)
    ]


def with_mailbounce(people: list[tuple[str, dict[str, str]]], spec: MessageSpec = SPEC) -> int:
    template = MessageTemplate(spec, columns=("ville", "adhesion"), domain="amis.example")
    total = 0
    for index, (address, fields) in enumerate(people):
        data = template.render(
            address=address,
            fields=fields,
            message_id=make_message_id("nov", address, "amis.example"),
            token=f"tok{index}",
            campaign="nov",
        )
        total += len(data)
    return total


def with_examples(people: list[tuple[str, dict[str, str]]]) -> int:
    text = (EXAMPLES / "newsletter.txt").read_text(encoding="utf-8")
    html = (EXAMPLES / "newsletter.html").read_text(encoding="utf-8")
    spec = replace(SPEC, subject="{{ first_name or 'Bonjour' }}, la lettre", text=text, html=html)
    return with_mailbounce(people, spec)


def with_a_filter(people: list[tuple[str, dict[str, str]]]) -> int:
    text = TEXT.replace("ville }}", "ville | replace('-', ' ') }}")
    return with_mailbounce(people, replace(SPEC, text=text))


def as_smtp_data(people: list[tuple[str, dict[str, str]]], prepared: bool | None) -> int:
    """``prepared`` True: render_data; False: render then wire_data; None: data_chunks,
    the pieces the send loop writes with one writev (no join)."""
    template = MessageTemplate(SPEC, columns=("ville", "adhesion"), domain="amis.example")
    total = 0
    for index, (address, fields) in enumerate(people):
        values: dict[str, Any] = {
            "address": address,
            "fields": fields,
            "message_id": make_message_id("nov", address, "amis.example"),
            "token": f"tok{index}",
            "campaign": "nov",
        }
        if prepared is None:
            total += sum(map(len, template.data_chunks(**values)))
        elif prepared:
            total += len(template.render_data(**values))
        else:
            total += len(wire_data(template.render(**values)))
    return total


def with_whole_bodies(people: list[tuple[str, dict[str, str]]]) -> int:
    """Jinja2 renders, encode_body on whole bodies: the per-message work before issue 2."""
    env = SandboxedEnvironment(undefined=StrictUndefined, keep_trailing_newline=True)
    html_env = SandboxedEnvironment(
        undefined=StrictUndefined, autoescape=True, keep_trailing_newline=True
    )
    subject, text = env.from_string(SPEC.subject), env.from_string(TEXT)
    html, url = html_env.from_string(HTML), env.from_string(SPEC.list_unsubscribe_url or "")
    boundary = "=_mb_0123456789abcdef0123456789abcdef"
    total = 0
    for index, (address, fields) in enumerate(people):
        context = dict(fields, email=address, token=f"tok{index}", campaign="nov")
        context["unsubscribe_url"] = url.render(context)
        head = (
            f"From: {SPEC.from_addr}\r\nTo: {address}\r\n"
            f"Subject: {unstructured(subject.render(context))}\r\n"
            f"Date: {format_datetime(datetime.now(UTC))}\r\n"
            f"Message-ID: {make_message_id('nov', address, 'amis.example')}\r\n"
        )
        chunks = [head]
        for kind, template in (("plain", text), ("html", html)):
            encoding, body = encode_body(template.render(context), boundary)
            chunks.append(f"--{boundary}\r\nContent-Type: text/{kind}\r\n{encoding}\r\n{body}")
        total += len("".join(chunks).encode("utf-8"))
    return total


def with_email_message(people: list[tuple[str, dict[str, str]]]) -> int:
    env = SandboxedEnvironment(undefined=StrictUndefined)
    html_env = SandboxedEnvironment(undefined=StrictUndefined, autoescape=True)
    subject, text = env.from_string(SPEC.subject), env.from_string(TEXT)
    html, url = html_env.from_string(HTML), env.from_string(SPEC.list_unsubscribe_url or "")
    total = 0
    for index, (address, fields) in enumerate(people):
        context = dict(fields, email=address, token=f"tok{index}", campaign="nov")
        context["unsubscribe_url"] = url.render(context)
        message = EmailMessage(policy=policy.default)
        message["From"] = SPEC.from_addr
        message["To"] = f"{fields['first_name']} {fields['last_name']} <{address}>"
        message["Subject"] = subject.render(context)
        message["Date"] = format_datetime(datetime.now(UTC))
        message["Message-ID"] = make_message_id("nov", address, "amis.example")
        message["List-Unsubscribe"] = (
            f"<mailto:{SPEC.list_unsubscribe_mailto}>, <{context['unsubscribe_url']}>"
        )
        message["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
        message["X-Mailbounce-Token"] = f"tok{index}"
        message.set_content(text.render(context))
        message.add_alternative(html.render(context), subtype="html")
        total += len(message.as_bytes(policy=policy.SMTP))
    return total


def rate(function: object, people: list[tuple[str, dict[str, str]]]) -> tuple[float, float, int]:
    """(messages per second of wall clock, CPU µs per message, average size)."""
    assert callable(function)
    start, cpu = time.perf_counter(), time.process_time()
    size = function(people)
    seconds, cpu_seconds = time.perf_counter() - start, time.process_time() - cpu
    return len(people) / seconds, cpu_seconds / len(people) * 1e6, size // len(people)


def main() -> None:
    people = recipients(MESSAGES)
    runs = [
        ("EmailMessage (policy.default)", with_email_message),
        ("Jinja2 + encode_body (before)", with_whole_bodies),
        ("MessageTemplate.render", with_mailbounce),
        ("  same, examples/ templates", with_examples),
        ("  same, with a |replace filter", with_a_filter),
        ("render + wire_data", lambda people: as_smtp_data(people, prepared=False)),
        ("render_data", lambda people: as_smtp_data(people, prepared=True)),
        ("data_chunks (what send writes)", lambda people: as_smtp_data(people, prepared=None)),
    ]
    for _name, function in runs:
        rate(function, people[:200])  # warm-up: imports, caches
    # Rounds in turn, the best of each kept: a shared machine's load hits every method.
    figures: dict[str, tuple[float, float, int]] = {}
    for _round in range(ROUNDS):
        for name, function in runs:
            # EmailMessage is ~50x slower: a tenth of the messages gives its rate as well.
            count = MESSAGES // 10 if function is with_email_message else MESSAGES
            per_second, cpu, size = rate(function, people[:count])
            best = figures.get(name, (0.0, float("inf"), size))
            figures[name] = (max(per_second, best[0]), min(cpu, best[1]), size)
    print(f"{MESSAGES:,} messages per method, best of {ROUNDS} rounds; CPU: time.process_time")
    for name, (per_second, cpu, size) in figures.items():
        print(f"{name:31s}: {per_second:8.0f} messages/s {cpu:8.1f} CPU µs/msg ({size} B avg)")
    ours = figures["MessageTemplate.render"][1]
    for name in ("EmailMessage (policy.default)", "Jinja2 + encode_body (before)"):
        print(f"speed-up over {name:29s}: {figures[name][1] / ours:5.1f}x (CPU)")
    data = figures["render + wire_data"][1] / figures["render_data"][1]
    print(f"render_data over render + wire_data          : {data:5.1f}x (CPU)")


if __name__ == "__main__":
    main()
