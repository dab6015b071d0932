"""One message per recipient, built fast from templates compiled once per campaign.

``MessageTemplate`` compiles the subject, body and List-Unsubscribe templates once (Jinja2
sandbox, undefined variables are errors) and checks, before anything is sent, that every
variable they use is a list column or a built-in. It also renders once what every message
shares: the From, Reply-To and extra headers, the MIME skeleton and its boundary, and the
template's fixed lines, measured and encoded (``compose_body``). Per recipient it fills
the templates (``compose_fill``: without Jinja2 for the common shapes), encodes only the
lines holding values and assembles the wire bytes: building each message with
``email.message.EmailMessage`` costs several times the SMTP exchange, and rendering and
encoding whole bodies per message several times what this does
(``benchmarks/compose_speed.py``). ``render_data`` gives the SMTP DATA payload directly.

Wire rules kept here: CRLF line endings only (RFC 5321 §2.3.8); no line over 998 octets
(RFC 5322 §2.1.1); non-ASCII header text as RFC 2047 encoded-words; a value from a list
can never start a new header line: CR, LF and the other line separators are turned into
spaces in every header value (header injection; both in ``compose_headers``).
"""

from __future__ import annotations

import functools
import re
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import format_datetime
from typing import Any
from urllib.parse import quote

from jinja2 import StrictUndefined, TemplateSyntaxError, meta
from jinja2.sandbox import SandboxedEnvironment

from mailbounce.compose_body import PartEncoder, dot_stuffed
from mailbounce.compose_fill import Filler
from mailbounce.compose_headers import header_text, mailbox, parse_mailbox, unstructured
from mailbounce.errors import ConfigError, TemplateError
from mailbounce.message_ids import (
    clean_domain,
    make_message_id,
    message_id_ending,
    message_id_maker,
    recipient_message_id,
)
from mailbounce.tracking import TRACKING_HEADER

# The Message-ID functions moved to ``message_ids``; importable from here as before.
__all__ = [
    "BUILTINS",
    "OWN_HEADERS",
    "MessageSpec",
    "MessageTemplate",
    "make_message_id",
    "message_id_ending",
    "message_id_maker",
    "recipient_message_id",
]

BUILTINS = frozenset({"email", "first_name", "last_name", "token", "campaign", "unsubscribe_url"})
# Headers this module writes; extra_headers may not replace them.
OWN_HEADERS = frozenset(
    {
        "from",
        "to",
        "cc",
        "bcc",
        "subject",
        "date",
        "message-id",
        "mime-version",
        "content-type",
        "content-transfer-encoding",
        "reply-to",
        "list-unsubscribe",
        "list-unsubscribe-post",
        TRACKING_HEADER.lower(),
    }
)
_HEADER_NAME = re.compile(r"[!-9;-~]+")  # RFC 5322 §2.2: printable ASCII except ':'
_URL_SAFE = ":/?#[]@!$&'()*+,;=%~"
# What quote(..., safe=_URL_SAFE) leaves as it is: its always-safe characters and _URL_SAFE.
_URL_UNCHANGED = re.compile(r"[A-Za-z0-9_.\-~:/?#\[\]@!$&'()*+,;=%]*")
_CACHE_LIMIT = 4096  # distinct subjects kept per campaign; cleared when full


@dataclass(frozen=True)
class MessageSpec:
    """What a campaign's messages are made of: addresses and template sources.

    ``subject``, ``text``, ``html`` and ``list_unsubscribe_url`` are Jinja2 templates;
    ``text_name`` and ``html_name`` name the templates in errors (e.g. their file paths).
    ``list_unsubscribe_url`` must be https (RFC 8058 one-click needs it).
    """

    from_addr: str
    subject: str
    text: str | None
    html: str | None
    reply_to: str | None = None
    list_unsubscribe_mailto: str | None = None
    list_unsubscribe_url: str | None = None
    extra_headers: Mapping[str, str] = field(default_factory=dict)
    text_name: str = "text"
    html_name: str = "html"


@functools.lru_cache(maxsize=16)  # a few (part type, encoding) pairs: made once each
def _single_part_headers(kind: str, encoding: str) -> str:
    return f"Content-Type: {kind}; charset=utf-8\r\nContent-Transfer-Encoding: {encoding}\r\n\r\n"


class MessageTemplate:
    """A campaign's message, compiled once, rendered per recipient to wire bytes.

    Raises TemplateError at construction when a template has a syntax error (naming the
    template and line) or uses a variable that is neither a list column nor a built-in
    (``BUILTINS``); ConfigError when an address, header or URL in the spec is unusable.
    """

    def __init__(self, spec: MessageSpec, *, columns: Sequence[str], domain: str) -> None:
        if spec.text is None and spec.html is None:
            raise TemplateError("the message has neither a text nor an HTML body")
        self.spec = spec
        self.domain = clean_domain(domain)
        self._allowed = frozenset(columns) | BUILTINS
        plain = SandboxedEnvironment(
            undefined=StrictUndefined, autoescape=False, keep_trailing_newline=True
        )
        # In HTML, list values are escaped: a name holding "<script>" stays text.
        markup = SandboxedEnvironment(
            undefined=StrictUndefined, autoescape=True, keep_trailing_newline=True
        )
        subject = self._compile(plain, "subject", spec.subject)
        text = self._compile(plain, spec.text_name, spec.text)
        html = self._compile(markup, spec.html_name, spec.html)
        self._unsubscribe = self._compile(plain, "list_unsubscribe_url", spec.list_unsubscribe_url)
        if spec.list_unsubscribe_url is not None and not spec.list_unsubscribe_url.startswith(
            "https://"
        ):
            raise ConfigError(
                f"the List-Unsubscribe URL {spec.list_unsubscribe_url!r} must start with https://"
                " (RFC 8058 one-click unsubscribe)"
            )
        assert subject is not None  # a MessageSpec always has a subject template
        self._subject = subject
        self.boundary = "=_mb_" + secrets.token_hex(16)
        self._head = "".join(line + "\r\n" for line in self._static_headers())
        self._head_data = dot_stuffed(self._head.encode("utf-8")).decode("utf-8")
        self._mailto = self._mailto_target()
        self._unsubscribe_fixed = self._unsubscribe_headers(None)  # without a URL template
        self._parts = [
            (kind, PartEncoder(filler, self.boundary))
            for kind, filler in (("text/plain", text), ("text/html", html))
            if filler is not None
        ]
        self._subjects: dict[str, str] = {}
        # (last instant, its second, its Date text), replaced as one so that threads never
        # mix two seconds.
        self._date: tuple[datetime, datetime, str] | None = None

    def _compile(self, env: SandboxedEnvironment, name: str, source: str | None) -> Filler | None:
        if source is None:
            return None
        try:
            tree = env.parse(source)
        except TemplateSyntaxError as exc:
            raise TemplateError(
                f"{name}:{exc.lineno}: template syntax error: {exc.message}"
            ) from None
        unknown = sorted(meta.find_undeclared_variables(tree) - self._allowed)
        if unknown:
            known = ", ".join(sorted(self._allowed))
            raise TemplateError(
                f"{name}: unknown variable {unknown[0]!r} (not a column of the list nor a "
                f"built-in; available: {known})"
            )
        return Filler(name, source, tree, env)

    def _static_headers(self) -> list[str]:
        spec = self.spec
        lines = [f"From: {parse_mailbox(spec.from_addr, 'From')}"]
        if spec.reply_to:
            lines.append(f"Reply-To: {parse_mailbox(spec.reply_to, 'Reply-To')}")
        for name, value in spec.extra_headers.items():
            if not _HEADER_NAME.fullmatch(name) or name.lower() in OWN_HEADERS:
                raise ConfigError(f"the extra header name {name!r} cannot be used")
            lines.append(f"{name}: {unstructured(value)}")
        lines.append("MIME-Version: 1.0")
        return lines

    def _mailto_target(self) -> str | None:
        if not self.spec.list_unsubscribe_mailto:
            return None
        mailto = header_text(self.spec.list_unsubscribe_mailto).removeprefix("mailto:")
        return f"<mailto:{quote(mailto, safe='@?=&+.-_')}>"

    def render(
        self,
        *,
        address: str,
        fields: Mapping[str, str],
        message_id: str,
        token: str | None,
        campaign: str,
        date: datetime | None = None,
        eight_bit: bool = False,
    ) -> bytes:
        """The complete message for one recipient: CRLF lines, ready for SMTP DATA.

        ``eight_bit``: the relay offers 8BITMIME, so UTF-8 bodies may go unencoded (8bit);
        the caller then passes ``BODY=8BITMIME`` (``smtp.SmtpClient`` does for non-ASCII data).
        """
        chunks = self._chunks(address, fields, message_id, token, campaign, date, eight_bit, False)
        return b"".join(chunks)

    def render_data(
        self,
        *,
        address: str,
        fields: Mapping[str, str],
        message_id: str,
        token: str | None,
        campaign: str,
        date: datetime | None = None,
        eight_bit: bool = False,
    ) -> bytes:
        """``render``'s message as the SMTP DATA payload: ``smtp_wire.wire_data`` of it.

        Leading dots doubled (RFC 5321 §4.5.2) and the ``.`` CRLF terminator added, from
        line runs dot-stuffed once per campaign: scanning each 7 KB message for line
        breaks and dots costs about as much as composing it.
        """
        return b"".join(
            self.data_chunks(
                address=address,
                fields=fields,
                message_id=message_id,
                token=token,
                campaign=campaign,
                date=date,
                eight_bit=eight_bit,
            )
        )

    def data_chunks(
        self,
        *,
        address: str,
        fields: Mapping[str, str],
        message_id: str,
        token: str | None,
        campaign: str,
        date: datetime | None = None,
        eight_bit: bool = False,
    ) -> list[bytes]:
        """``render_data``'s payload in pieces, never joined: the send loop writes them with
        one ``writev`` (the kernel copies them once; a join was two more 5 KB copies)."""
        chunks = self._chunks(address, fields, message_id, token, campaign, date, eight_bit, True)
        chunks.append(b".\r\n")
        return chunks

    def _chunks(
        self,
        address: str,
        fields: Mapping[str, str],
        message_id: str,
        token: str | None,
        campaign: str,
        date: datetime | None,
        eight_bit: bool,
        smtp_data: bool,
    ) -> list[bytes]:
        first = fields.get("first_name", "")
        last = fields.get("last_name", "")
        context: dict[str, Any] = {
            **fields,
            "email": address,
            "first_name": first,
            "last_name": last,
            "token": token or "",
            "campaign": campaign,
            "unsubscribe_url": "",
        }
        unsubscribe_url = None
        if self._unsubscribe is not None:
            rendered = header_text(self._unsubscribe.fill(context))
            unsubscribe_url = (
                rendered if _URL_UNCHANGED.fullmatch(rendered) else quote(rendered, safe=_URL_SAFE)
            )
            context["unsubscribe_url"] = unsubscribe_url
        first, last = first.strip(), last.strip()
        full_name = f"{first} {last}" if first and last else first or last
        # Only the fixed head can hold a line starting with a dot (an extra header's name):
        # every other header line starts with its name, continuation lines with a space.
        unsubscribe = (
            self._unsubscribe_fixed
            if unsubscribe_url is None
            else self._unsubscribe_headers(unsubscribe_url)
        )
        tracking = f"{TRACKING_HEADER}: {header_text(token)}\r\n" if token else ""
        subject, subjects = self._subject.fill(context), self._subjects
        # One f-string: Python builds it in one step, where a list of lines is joined after.
        head = (
            f"{self._head_data if smtp_data else self._head}"
            f"To: {mailbox(full_name, address)}\r\n"
            f"Subject: {subjects.get(subject) or self._subject_header(subject)}\r\n"
            f"Date: {self._date_header(date or datetime.now(UTC))}\r\n"
            f"Message-ID: {header_text(message_id)}\r\n"
            f"{unsubscribe}{tracking}"
        )
        if len(self._parts) == 1:
            kind, part = self._parts[0]
            encoding, encoded = part.encode_chunks(context, eight_bit, smtp_data)
            encoded.insert(0, (head + _single_part_headers(kind, encoding)).encode("utf-8"))
            return encoded
        boundary = self.boundary
        head += f'Content-Type: multipart/alternative; boundary="{boundary}"\r\n\r\n'
        chunks = [head.encode("utf-8")]
        for kind, part in self._parts:
            encoding, encoded = part.encode_chunks(context, eight_bit, smtp_data)
            chunks.append(
                f"--{boundary}\r\nContent-Type: {kind}; charset=utf-8\r\n"
                f"Content-Transfer-Encoding: {encoding}\r\n\r\n".encode("ascii")
            )
            chunks += encoded
            chunks.append(b"\r\n")
        chunks.append(f"--{boundary}--\r\n".encode("ascii"))
        return chunks

    def _subject_header(self, subject: str) -> str:
        # Recipients share subjects (same first name, or no variable at all): encode once.
        found = self._subjects.get(subject)
        if found is None:
            if len(self._subjects) >= _CACHE_LIMIT:
                self._subjects.clear()
            found = self._subjects[subject] = unstructured(subject)
        return found

    def _date_header(self, moment: datetime) -> str:
        # A run stamps many messages within each second: format once per second. The send
        # loop passes one ``datetime`` for all the messages of a turn: known at once.
        last = self._date
        if last is not None and moment is last[0]:
            return last[2]
        key = moment.replace(microsecond=0)
        # Equal instants in two time zones compare equal but are written differently.
        if last is not None and key == last[1] and key.tzinfo is last[1].tzinfo:
            self._date = (moment, last[1], last[2])
            return last[2]
        text = format_datetime(key)
        self._date = (moment, key, text)
        return text

    def _unsubscribe_headers(self, url: str | None) -> str:
        targets = [self._mailto] if self._mailto else []
        if url:
            targets.append(f"<{url}>")
        if not targets:
            return ""
        lines = "List-Unsubscribe: " + ",\r\n ".join(targets) + "\r\n"
        if url:
            lines += "List-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n"
        return lines
