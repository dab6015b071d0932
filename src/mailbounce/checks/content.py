"""``check content``: the links, parts, unsubscribe means and size of one message.

Findings (each names its rule, and the provider when a provider's rule fired):

- ``http-link``: a link or image over http:// (an error when the lists hold laposte.net
  addresses: La Poste rejects such mail; a warning otherwise);
- ``ip-host``, ``shortener``, ``anchor-mismatch`` (anchor text showing another domain),
  ``javascript-link``, ``relative-link``: what spam filters and clients distrust;
- ``missing-text-part``, ``missing-unsubscribe``;
- ``html-clipped`` (HTML over 102 KB, which Gmail clips), ``message-too-big`` (over the
  configured limit, the SMTP server's advertised SIZE or a recipient provider's limit),
  ``image-too-big`` (a local or inline image over ``checks.max_image_bytes``).
"""

from __future__ import annotations

import base64
import binascii
import email
import email.policy
import ipaddress
import re
from collections.abc import Collection
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path
from urllib.parse import unquote, urlsplit

from mailbounce.checks.findings import Finding, Severity
from mailbounce.checks.links import UrlRef, html_urls, text_urls
from mailbounce.checks.providers import KnowledgeBase
from mailbounce.checks.settings import GMAIL_CLIP_BYTES, CheckSettings
from mailbounce.errors import InputError

SHORTENERS = frozenset(
    {
        "bit.ly", "bitly.com", "tinyurl.com", "goo.gl", "t.co", "ow.ly", "is.gd", "buff.ly",
        "cutt.ly", "rebrand.ly", "tiny.cc", "shorturl.at", "rb.gy", "lnkd.in", "bit.do",
        "urlz.fr", "shorturl.com", "v.gd", "t.ly", "s.id", "qrco.de", "tinyurl.fr", "frama.link",
    }
)  # fmt: skip
_UNSUBSCRIBE = re.compile(
    r"unsubscri|d[ée]sinscri|d[ée]sabonn|se\s+d[ée]sinscrire|unsubscribe_url|opt[- ]?out",
    re.IGNORECASE,
)
_DOMAIN_IN_TEXT = re.compile(
    r"(?:https?://)?((?:[a-z0-9](?:[a-z0-9-]*[a-z0-9])?\.)+[a-z]{2,24})(?:[/:?#]|$)",
    re.IGNORECASE,
)
# Base64 grows a body by 4/3 and line breaks; quoted-printable usually less. Headers ~2 KB.
_ENCODING_GROWTH = 1.37
_HEADERS_BYTES = 2048
_TEMPLATE_VALUE = "template-value"


@dataclass(frozen=True)
class MessageContent:
    """A message to check: its parts as templates or text, and where relative paths start."""

    name: str
    html: str | None
    text: str | None
    base: Path
    unsubscribe_header: bool = False

    def estimated_size(self) -> int:
        body = sum(len(part.encode("utf-8")) for part in (self.html, self.text) if part)
        return int(body * _ENCODING_GROWTH) + _HEADERS_BYTES


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError(path, "no such file") from None
    except UnicodeDecodeError as exc:
        raise InputError(path, f"not UTF-8 text (byte {exc.start})") from None
    except OSError as exc:
        raise InputError(path, f"cannot read: {exc.strerror}") from None


def load_message(path: Path) -> MessageContent:
    """A message from an ``.html``/``.htm`` file, a text file or an ``.eml`` message."""
    suffix = path.suffix.lower()
    if suffix == ".eml":
        return _from_eml(path)
    text = _read(path)
    if suffix in (".html", ".htm") or re.search(r"<(?:html|body|a|p|div|table)\b", text, re.I):
        return MessageContent(str(path), text, None, path.parent)
    return MessageContent(str(path), None, text, path.parent)


def _from_eml(path: Path) -> MessageContent:
    try:
        message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
    except OSError as exc:
        raise InputError(path, f"cannot read: {exc.strerror}") from None
    assert isinstance(message, EmailMessage)
    parts: dict[str, str] = {}
    for subtype in ("html", "plain"):
        part = message.get_body(preferencelist=(subtype,))
        if part is not None and part.get_content_subtype() == subtype:
            content = part.get_content()
            parts[subtype] = content if isinstance(content, str) else ""
    return MessageContent(
        str(path),
        parts.get("html"),
        parts.get("plain"),
        path.parent,
        unsubscribe_header=message.get("List-Unsubscribe") is not None,
    )


class ContentChecker:
    def __init__(
        self,
        kb: KnowledgeBase,
        settings: CheckSettings,
        recipient_domains: Collection[str] = (),
        smtp_max_size: int | None = None,
    ) -> None:
        self.kb = kb
        self.settings = settings
        self.recipient_domains = frozenset(recipient_domains)
        self.smtp_max_size = smtp_max_size
        self.no_http_rules = [
            rule for rule in kb.rules if rule.no_http and self.recipient_domains & set(rule.domains)
        ]

    def check(self, content: MessageContent) -> list[Finding]:
        findings: list[Finding] = []
        refs = (html_urls(content.html) if content.html else []) + (
            text_urls(content.text) if content.text else []
        )
        for ref in refs:
            findings.extend(self._url(ref, content))
        findings.extend(self._structure(content, refs))
        findings.extend(self._size(content))
        return findings

    # -- links ---------------------------------------------------------------------------
    def _url(self, ref: UrlRef, content: MessageContent) -> list[Finding]:
        url = ref.url
        where = f"{ref.where}, {ref.part} line {ref.line}"
        if "{{" in url or "{%" in url:
            # A template: check its literal parts; a URL that is all template is unknowable.
            url = re.sub(r"\{[{%].*?[}%]\}", _TEMPLATE_VALUE, url)
        lowered = url.lower()
        if lowered.startswith("javascript:"):
            return [
                Finding(
                    "javascript-link",
                    Severity.ERROR,
                    f"javascript: link ({where}): mail clients strip it, filters flag it",
                    rule="javascript-link",
                    subject=ref.url,
                )
            ]
        if lowered.startswith(("mailto:", "tel:", "sms:", "#", "cid:", _TEMPLATE_VALUE)):
            return []
        if lowered.startswith("data:"):
            return self._data_image(ref, where)
        if lowered.startswith("www."):
            url = "http://" + url if ref.part == "html" else "https://" + url
            lowered = url.lower()
        if not re.match(r"^[a-z][a-z0-9+.-]*:", lowered) and not lowered.startswith("//"):
            return self._relative(ref, content, where)
        parts = urlsplit(url)
        host = (parts.hostname or "").lower()
        found: list[Finding] = []
        if parts.scheme == "http":
            found.append(self._http(ref, where))
        if host:
            found.extend(self._host(ref, host, where))
        if ref.anchor_text and host:
            found.extend(self._anchor(ref, host, where))
        return found

    def _http(self, ref: UrlRef, where: str) -> Finding:
        kind = "image" if ref.image else "link"
        if self.no_http_rules:
            rule = self.no_http_rules[0]
            return Finding(
                "http-link",
                Severity.ERROR,
                f"http:// {kind} ({where}): {rule.description} Use https://.",
                rule=rule.id,
                provider=rule.provider,
                subject=ref.url,
            )
        return Finding(
            "http-link",
            Severity.WARNING,
            f"http:// {kind} ({where}): use https:// (laposte.net rejects mail with http links)",
            rule="no-http-links",
            provider="laposte.net",
            subject=ref.url,
        )

    def _host(self, ref: UrlRef, host: str, where: str) -> list[Finding]:
        try:
            ipaddress.ip_address(host.strip("[]"))
        except ValueError:
            pass
        else:
            return [
                Finding(
                    "ip-host",
                    Severity.WARNING,
                    f"link to an IP address ({where}): spam filters distrust it; use a name",
                    rule="ip-host",
                    subject=ref.url,
                )
            ]
        bare = host.removeprefix("www.")
        if bare in SHORTENERS:
            return [
                Finding(
                    "shortener",
                    Severity.WARNING,
                    f"URL shortener {bare} ({where}): spammers use them; link the real page",
                    rule="shortener",
                    subject=ref.url,
                )
            ]
        return []

    def _anchor(self, ref: UrlRef, host: str, where: str) -> list[Finding]:
        assert ref.anchor_text is not None
        match = _DOMAIN_IN_TEXT.search(ref.anchor_text.strip())
        if match is None or " " in ref.anchor_text.strip():
            return []
        shown = match.group(1).lower().removeprefix("www.")
        actual = host.removeprefix("www.")
        if shown == actual or actual.endswith("." + shown) or shown.endswith("." + actual):
            return []
        return [
            Finding(
                "anchor-mismatch",
                Severity.WARNING,
                f"the link text shows {shown} but leads to {actual} ({where}): looks like phishing",
                rule="anchor-mismatch",
                subject=ref.url,
            )
        ]

    def _relative(self, ref: UrlRef, content: MessageContent, where: str) -> list[Finding]:
        if ref.image:
            local = content.base / unquote(ref.url.split("?", 1)[0])
            if local.is_file():
                return self._image_size(ref, local.stat().st_size, where)
        return [
            Finding(
                "relative-link",
                Severity.WARNING,
                f"relative {'image' if ref.image else 'link'} {ref.url} ({where}): "
                "it leads nowhere in a mailbox; use a full https:// URL",
                rule="relative-link",
                subject=ref.url,
            )
        ]

    def _data_image(self, ref: UrlRef, where: str) -> list[Finding]:
        _, _, payload = ref.url.partition(",")
        try:
            size = len(base64.b64decode(payload, validate=False))
        except (binascii.Error, ValueError):
            size = len(payload)
        return self._image_size(ref, size, where)

    def _image_size(self, ref: UrlRef, size: int, where: str) -> list[Finding]:
        limit = self.settings.max_image_bytes
        if size <= limit:
            return []
        return [
            Finding(
                "image-too-big",
                Severity.WARNING,
                f"image of {size // 1024} KB ({where}), over {limit // 1024} KB: slow to "
                "load, and heavy images look like spam",
                rule="image-size",
                subject=ref.url[:80],
            )
        ]

    # -- structure and size ----------------------------------------------------------------
    def _structure(self, content: MessageContent, refs: list[UrlRef]) -> list[Finding]:
        found = []
        if content.html and not (content.text and content.text.strip()):
            found.append(
                Finding(
                    "missing-text-part",
                    Severity.WARNING,
                    "HTML without a text part: spam filters penalise it and some readers "
                    "show nothing",
                    rule="text-part",
                )
            )
        has_link = any(
            _UNSUBSCRIBE.search(ref.url) or _UNSUBSCRIBE.search(ref.anchor_text or "")
            for ref in refs
        )
        body = (content.html or "") + (content.text or "")
        has_link = has_link or bool(re.search(r"\{\{\s*unsubscribe_url\s*\}\}", body))
        if not has_link and not content.unsubscribe_header:
            found.append(
                Finding(
                    "missing-unsubscribe",
                    Severity.WARNING,
                    "no unsubscribe link and no List-Unsubscribe header: Gmail and Yahoo "
                    "require one from bulk senders",
                    rule="unsubscribe",
                )
            )
        return found

    def _size(self, content: MessageContent) -> list[Finding]:
        found = []
        html_bytes = len(content.html.encode("utf-8")) if content.html else 0
        if html_bytes > GMAIL_CLIP_BYTES:
            found.append(
                Finding(
                    "html-clipped",
                    Severity.WARNING,
                    f"HTML of {html_bytes // 1024} KB: Gmail clips messages over 102 KB "
                    "(the end, often the unsubscribe link, is hidden)",
                    rule="gmail-clipping",
                    provider="gmail.com",
                )
            )
        size = content.estimated_size()
        limits: list[tuple[int, str, str | None, str]] = []
        if self.settings.max_message_bytes:
            why = "the configured limit (checks.max_message_bytes)"
            limits.append((self.settings.max_message_bytes, "max-message-size", None, why))
        if self.smtp_max_size:
            why = "the SMTP server's advertised SIZE (RFC 1870)"
            limits.append((self.smtp_max_size, "smtp-size", None, why))
        for rule in self.kb.rules:
            if rule.max_message_bytes and self.recipient_domains & set(rule.domains):
                limits.append((rule.max_message_bytes, rule.id, rule.provider, rule.description))
        for limit, rule_id, provider, why in sorted(limits, key=lambda item: item[0]):
            if size > limit:
                found.append(
                    Finding(
                        "message-too-big",
                        Severity.ERROR,
                        f"message of about {size // 1024} KB, over {limit // 1024} KB: {why}",
                        rule=rule_id,
                        provider=provider,
                    )
                )
        return found
