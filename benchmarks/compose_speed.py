"""Messages per second: MessageTemplate.render against email.message.EmailMessage.

Both build the same message (From, To with a display name, templated Subject, Date,
Message-ID, List-Unsubscribe + Post, tracking header, multipart/alternative text + HTML
of about 5 KB, French accents) and produce wire bytes. The EmailMessage path is what a
straightforward implementation does: fill the templates with Jinja2, then set headers
and add both parts with the default policy, then serialise with CRLF (policy.SMTP).
Prints figures, same run; asserts nothing.
Run: .venv/bin/python benchmarks/compose_speed.py [MESSAGES]
"""

from __future__ import annotations

import sys
import time
from datetime import UTC, datetime
from email import policy
from email.message import EmailMessage
from email.utils import format_datetime

from jinja2 import StrictUndefined
from jinja2.sandbox import SandboxedEnvironment

from mailbounce.compose import MessageSpec, MessageTemplate, make_message_id

MESSAGES = int(sys.argv[1]) if len(sys.argv) > 1 else 3000
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
            {"first_name": "Élodie", "last_name": f"Dupré {i}", "ville": "Besançon"},
        )
        for i in range(count)
    ]


def with_mailbounce(people: list[tuple[str, dict[str, str]]]) -> int:
    template = MessageTemplate(SPEC, columns=("ville",), domain="amis.example")
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


def rate(function: object, people: list[tuple[str, dict[str, str]]]) -> tuple[float, float]:
    assert callable(function)
    start = time.perf_counter()
    size = function(people)
    seconds = time.perf_counter() - start
    return len(people) / seconds, size / len(people)


def main() -> None:
    people = recipients(MESSAGES)
    rate(with_mailbounce, people[:200])  # warm-up: imports, caches
    rate(with_email_message, people[:200])
    ours, our_size = rate(with_mailbounce, people)
    theirs, their_size = rate(with_email_message, people)
    print(f"{MESSAGES:,} messages of about {our_size / 1024:.1f} KB each")
    print(f"EmailMessage (policy.default) : {theirs:8.0f} messages/s ({their_size:.0f} B avg)")
    print(f"MessageTemplate.render        : {ours:8.0f} messages/s ({our_size:.0f} B avg)")
    print(f"speed-up                      : {ours / theirs:8.1f}x")


if __name__ == "__main__":
    main()
