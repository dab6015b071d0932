"""Where the SMTP relay is: the TLS mode, the connection settings, ``--smtp`` URL parsing."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from urllib.parse import urlsplit

from mailbounce.config import Secret
from mailbounce.errors import UsageError


class TlsMode(StrEnum):
    STARTTLS = "starttls"  # plain connection upgraded with STARTTLS, required (port 587)
    TLS = "tls"  # implicit TLS from the first byte (port 465, RFC 8314)
    NONE = "none"  # no encryption: only for a local server, when asked


_DEFAULT_PORTS = {TlsMode.STARTTLS: 587, TlsMode.TLS: 465, TlsMode.NONE: 25}


@dataclass(frozen=True)
class SmtpSettings:
    """How to reach the relay. ``password`` is a Secret: never shown by repr."""

    host: str
    port: int
    tls: TlsMode = TlsMode.STARTTLS
    user: str | None = None
    password: Secret | None = None
    ca_file: Path | None = None
    timeout: float = 60.0
    helo_name: str | None = None

    @property
    def where(self) -> str:
        return f"{self.host}:{self.port}"


def parse_smtp_url(url: str, tls: TlsMode | None = None) -> tuple[str, int, TlsMode]:
    """``smtp://host[:port]`` (STARTTLS unless ``tls`` says otherwise) or ``smtps://host``.

    The default port follows the TLS mode: 587 STARTTLS, 465 implicit TLS, 25 none.
    """
    parts = urlsplit(url if "://" in url else f"smtp://{url}")
    if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
        raise UsageError(f"--smtp: expected smtp://HOST:PORT or smtps://HOST:PORT, got {url!r}")
    if parts.username or parts.password:
        raise UsageError(
            "--smtp: do not put credentials in the URL; use --user and the "
            "MAILBOUNCE_SMTP_PASSWORD environment variable or a password file"
        )
    mode = tls or (TlsMode.TLS if parts.scheme == "smtps" else TlsMode.STARTTLS)
    try:
        port = parts.port or _DEFAULT_PORTS[mode]
    except ValueError:
        raise UsageError(f"--smtp: invalid port in {url!r}") from None
    return parts.hostname, port, mode
