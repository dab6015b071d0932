"""One message per recipient, built fast from templates compiled once per campaign.

``MessageTemplate`` compiles the subject, body and List-Unsubscribe templates once (Jinja2
sandbox, undefined variables are errors) and checks, before anything is sent, that every
variable they use is a list column or a built-in. It also renders once what every message
shares: the From, Reply-To and extra headers, the MIME skeleton and its boundary. Per
recipient it fills the templates and assembles the wire bytes with string operations,
encoding the bodies itself (``binascii`` quoted-printable or base64): building each message
with ``email.message.EmailMessage`` costs several times the SMTP exchange
(``benchmarks/compose_speed.py``).

Wire rules kept here: CRLF line endings only (RFC 5321 §2.3.8); no line over 998 octets
(RFC 5322 §2.1.1); non-ASCII header text as RFC 2047 encoded-words; a value from a list
can never start a new header line: CR, LF and the other line separators are turned into
spaces in every header value (header injection).
"""

from __future__ import annotations

import base64
import binascii
import functools
import hashlib
import re
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import format_datetime, parseaddr
from typing import Any
from urllib.parse import quote

from jinja2 import StrictUndefined, TemplateSyntaxError, meta
from jinja2.exceptions import TemplateError as JinjaError
from jinja2.sandbox import SandboxedEnvironment

from mailbounce.errors import ConfigError, TemplateError
from mailbounce.tracking import TRACKING_HEADER

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
# Line breaks of every kind (str.splitlines' set) and the other control characters.
_LINE_BREAKS = re.compile(r"[\x00-\x1f\x7f\x85\u2028\u2029]+")
_HEADER_NAME = re.compile(r"[!-9;-~]+")  # RFC 5322 §2.2: printable ASCII except ':'
_SPECIALS = re.compile(r'[()<>\[\]:;@\\,."]')
# RFC 2047 §2: an encoded-word is at most 75 characters; "=?utf-8?b?" + "?=" take 12.
_WORD_BYTES = 45
_MAX_RAW_HEADER = 900
_MAX_LINE = 998


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


def make_message_id(campaign: str, address: str, domain: str) -> str:
    """``<hash.campaign@domain>``, the same for a (campaign, address) across retries."""
    digest = hashlib.sha256(f"{campaign}\x00{address.lower()}".encode()).digest()[:15]
    unique = base64.b32encode(digest).decode("ascii").lower()
    return f"<{unique}.{_message_id_suffix(campaign, domain)}>"


@functools.lru_cache(maxsize=16)  # one campaign per run: computed once, not per message
def _message_id_suffix(campaign: str, domain: str) -> str:
    label = re.sub(r"[^A-Za-z0-9-]+", "-", campaign).strip("-")[:32] or "campaign"
    return f"{label}@{_clean_domain(domain)}"


@functools.lru_cache(maxsize=4)  # a run stamps thousands of messages within each second
def _date_header(moment: datetime) -> str:
    return format_datetime(moment)


def _clean_domain(domain: str) -> str:
    text = domain.strip().lower()
    if not text.isascii():
        try:  # an internationalised domain goes into Message-ID in its ASCII form
            text = text.encode("idna").decode("ascii")
        except UnicodeError:
            raise ConfigError(f"the message domain {domain!r} is not a domain name") from None
    if not text or not re.fullmatch(r"[a-z0-9.-]+|\[[0-9a-f.:]+\]", text):
        raise ConfigError(f"the message domain {domain!r} is not a domain name")
    return text


def header_text(value: str) -> str:
    """A value safe for one header: line breaks and controls become spaces, runs one."""
    return " ".join(_LINE_BREAKS.sub(" ", value).split())


def encode_words(text: str) -> str:
    """RFC 2047 B encoded-words, folded (CRLF SP), never splitting a character (§5)."""
    data = text.encode("utf-8")
    words: list[str] = []
    start = 0
    while True:
        end = min(start + _WORD_BYTES, len(data))
        # Back off to the start of a UTF-8 sequence (continuation bytes are 10xxxxxx).
        while end < len(data) and data[end] & 0xC0 == 0x80:
            end -= 1
        words.append(_word(data[start:end]))
        start = end
        if start >= len(data):
            return "\r\n ".join(words)


def _word(data: bytes | bytearray) -> str:
    return "=?utf-8?b?" + base64.b64encode(data).decode("ascii") + "?="


def unstructured(value: str) -> str:
    """An unstructured header value (Subject...): raw ASCII when it can be, else encoded."""
    text = header_text(value)
    if text.isascii() and "=?" not in text and len(text) <= _MAX_RAW_HEADER:
        return text
    return encode_words(text)


def phrase(name: str) -> str:
    """A display name: raw atoms, a quoted string, or encoded-words (RFC 5322 §3.2.5)."""
    text = header_text(name)
    if not text.isascii() or "=?" in text or len(text) > _MAX_RAW_HEADER:
        return encode_words(text)
    if _SPECIALS.search(text):
        return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return text


def mailbox(name: str | None, address: str) -> str:
    """``Name <address>``, or the bare address when there is no name."""
    addr = header_text(address).replace("<", "").replace(">", "").replace(" ", "")
    text = header_text(name or "")
    return f"{phrase(text)} <{addr}>" if text else addr


def _parse_mailbox(value: str, what: str) -> str:
    name, address = parseaddr(header_text(value))
    if "@" not in address:
        raise ConfigError(f"the {what} address {value!r} is not an e-mail address")
    return mailbox(name, address)


def encode_body(text: str, boundary: str, *, eight_bit: bool = False) -> tuple[str, str]:
    """(Content-Transfer-Encoding, encoded body with CRLF lines ending in CRLF).

    7bit for short-lined ASCII; with ``eight_bit`` (the relay offers 8BITMIME, RFC 6152)
    8bit for UTF-8 text whose lines fit 998 octets, no encoding at all; otherwise
    quoted-printable for mostly-ASCII text (French prose stays readable), base64 when
    more than a fifth of the characters are not ASCII. Line breaks are normalised first,
    so no bare CR or LF can survive.
    """
    body = text.replace("\r\n", "\n").replace("\r", "\n")
    if not body.endswith("\n"):
        body += "\n"
    if body.isascii():
        if max(map(len, body.split("\n"))) <= _MAX_LINE and boundary not in body:
            return "7bit", body.replace("\n", "\r\n")
        return "quoted-printable", _qp(body.encode("ascii"))
    data = body.encode("utf-8")
    # RFC 6152 §3 / RFC 5322 §2.1.1: 8bit data still has lines of at most 998 octets.
    if eight_bit and max(map(len, data.split(b"\n"))) <= _MAX_LINE and boundary not in body:
        return "8bit", body.replace("\n", "\r\n")
    # Each non-ASCII character takes 2 to 4 bytes: the growth measures how French it is.
    if (len(data) - len(body)) * 5 > len(body):
        # RFC 2045 §6.8: text is put in canonical form (CRLF line breaks) before base64.
        canonical = data.replace(b"\n", b"\r\n")
        return "base64", base64.encodebytes(canonical).decode("ascii").replace("\n", "\r\n")
    return "quoted-printable", _qp(data)


def _qp(data: bytes) -> str:
    return binascii.b2a_qp(data, istext=True).decode("ascii").replace("\n", "\r\n")


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
        self.domain = _clean_domain(domain)
        self._allowed = frozenset(columns) | BUILTINS
        plain = SandboxedEnvironment(
            undefined=StrictUndefined, autoescape=False, keep_trailing_newline=True
        )
        # In HTML, list values are escaped: a name holding "<script>" stays text.
        markup = SandboxedEnvironment(
            undefined=StrictUndefined, autoescape=True, keep_trailing_newline=True
        )
        self._subject = self._compile(plain, "subject", spec.subject)
        self._text = self._compile(plain, spec.text_name, spec.text)
        self._html = self._compile(markup, spec.html_name, spec.html)
        self._unsubscribe = self._compile(plain, "list_unsubscribe_url", spec.list_unsubscribe_url)
        if spec.list_unsubscribe_url is not None and not spec.list_unsubscribe_url.startswith(
            "https://"
        ):
            raise ConfigError(
                f"the List-Unsubscribe URL {spec.list_unsubscribe_url!r} must start with https://"
                " (RFC 8058 one-click unsubscribe)"
            )
        self.boundary = "=_mb_" + secrets.token_hex(16)
        self._static = self._static_headers()

    def _compile(self, env: SandboxedEnvironment, name: str, source: str | None) -> Any:
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
        return env.from_string(source)

    def _static_headers(self) -> list[str]:
        spec = self.spec
        lines = [f"From: {_parse_mailbox(spec.from_addr, 'From')}"]
        if spec.reply_to:
            lines.append(f"Reply-To: {_parse_mailbox(spec.reply_to, 'Reply-To')}")
        for name, value in spec.extra_headers.items():
            if not _HEADER_NAME.fullmatch(name) or name.lower() in OWN_HEADERS:
                raise ConfigError(f"the extra header name {name!r} cannot be used")
            lines.append(f"{name}: {unstructured(value)}")
        lines.append("MIME-Version: 1.0")
        return lines

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
        first = fields.get("first_name", "")
        last = fields.get("last_name", "")
        context: dict[str, Any] = dict(fields)
        context.update(
            email=address,
            first_name=first,
            last_name=last,
            token=token or "",
            campaign=campaign,
            unsubscribe_url="",
        )
        unsubscribe_url = None
        if self._unsubscribe is not None:
            rendered = header_text(self._fill(self._unsubscribe, "list_unsubscribe_url", context))
            unsubscribe_url = quote(rendered, safe=":/?#[]@!$&'()*+,;=%~")
            context["unsubscribe_url"] = unsubscribe_url
        headers = list(self._static)
        full_name = " ".join(part for part in (first.strip(), last.strip()) if part)
        headers.append(f"To: {mailbox(full_name, address)}")
        subject = self._fill(self._subject, "subject", context)
        headers.append(f"Subject: {unstructured(subject)}")
        moment = date or datetime.now(UTC)
        headers.append(f"Date: {_date_header(moment.replace(microsecond=0))}")
        headers.append(f"Message-ID: {header_text(message_id)}")
        headers.extend(self._unsubscribe_headers(unsubscribe_url))
        if token:
            headers.append(f"{TRACKING_HEADER}: {header_text(token)}")
        body = self._body(headers, context, eight_bit)
        return ("\r\n".join(headers) + "\r\n\r\n" + body).encode("utf-8")

    def _unsubscribe_headers(self, url: str | None) -> list[str]:
        targets = []
        if self.spec.list_unsubscribe_mailto:
            mailto = header_text(self.spec.list_unsubscribe_mailto).removeprefix("mailto:")
            targets.append(f"<mailto:{quote(mailto, safe='@?=&+.-_')}>")
        if url:
            targets.append(f"<{url}>")
        if not targets:
            return []
        lines = ["List-Unsubscribe: " + ",\r\n ".join(targets)]
        if url:
            lines.append("List-Unsubscribe-Post: List-Unsubscribe=One-Click")
        return lines

    def _body(self, headers: list[str], context: Mapping[str, Any], eight_bit: bool) -> str:
        parts: list[tuple[str, str]] = []
        if self._text is not None:
            parts.append(("text/plain", self._fill(self._text, self.spec.text_name, context)))
        if self._html is not None:
            parts.append(("text/html", self._fill(self._html, self.spec.html_name, context)))
        if len(parts) == 1:
            kind, text = parts[0]
            encoding, encoded = encode_body(text, self.boundary, eight_bit=eight_bit)
            headers.append(f"Content-Type: {kind}; charset=utf-8")
            headers.append(f"Content-Transfer-Encoding: {encoding}")
            return encoded
        headers.append(f'Content-Type: multipart/alternative; boundary="{self.boundary}"')
        chunks = []
        for kind, text in parts:
            encoding, encoded = encode_body(text, self.boundary, eight_bit=eight_bit)
            chunks.append(
                f"--{self.boundary}\r\nContent-Type: {kind}; charset=utf-8\r\n"
                f"Content-Transfer-Encoding: {encoding}\r\n\r\n{encoded}\r\n"
            )
        return "".join(chunks) + f"--{self.boundary}--\r\n"

    def _fill(self, template: Any, name: str, context: Mapping[str, Any]) -> str:
        try:
            return str(template.render(context))
        except JinjaError as exc:
            raise TemplateError(f"{name}: {exc}") from None
