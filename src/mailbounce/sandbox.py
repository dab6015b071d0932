"""A local SMTP server that answers like real providers, to try a campaign safely.

``SandboxServer`` runs aiosmtpd on 127.0.0.1 (port 0 picks a free port) in a thread and
answers each recipient as the first matching ``SandboxRule`` says (the behaviours and the
default rules are described in ``mailbounce.sandbox_rules``): greylisting, unknown users,
full mailboxes, spam refusals, later bounces, dropped connections, 421. Everything it
accepts or refuses is recorded (``received``, ``later_bounces``, ``events``).
"""

from __future__ import annotations

import asyncio
import hmac
import mailbox
import re
import socket
import ssl
import threading
import time
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from mailbounce.addresses import normalize_address
from mailbounce.errors import ConfigError
from mailbounce.sandbox_rules import (
    BEHAVIOURS,
    DEFAULT_RULES,
    REPLY_421,
    REPLY_GREYLISTED,
    REPLY_MAILBOX_FULL,
    REPLY_OK,
    REPLY_SPAM,
    SandboxRule,
    behaviour_for,
    reply_unknown_user,
)

__all__ = [
    "BEHAVIOURS",
    "DEFAULT_RULES",
    "REPLY_421",
    "REPLY_GREYLISTED",
    "REPLY_MAILBOX_FULL",
    "REPLY_OK",
    "REPLY_SPAM",
    "LaterBounce",
    "ReceivedMessage",
    "SandboxEvent",
    "SandboxRule",
    "SandboxServer",
    "behaviour_for",
    "reply_unknown_user",
]


@dataclass(frozen=True)
class ReceivedMessage:
    """A message the sandbox accepted: envelope and the exact bytes after the DATA dot."""

    mail_from: str
    rcpt_tos: tuple[str, ...]
    data: bytes
    peer: str
    received_at: datetime

    @property
    def message_id(self) -> str | None:
        return _header(self.data, "Message-ID")


@dataclass(frozen=True)
class LaterBounce:
    """An accepted recipient whose rule says the mail bounces later (a DSN to generate)."""

    recipient: str
    mail_from: str
    message_id: str | None
    data: bytes
    received_at: datetime


@dataclass(frozen=True)
class SandboxEvent:
    """One reply the sandbox gave about one recipient, for logs and the demo."""

    at: datetime
    peer: str
    stage: str  # "RCPT" or "DATA"
    mail_from: str
    recipient: str
    reply: str


def _header(data: bytes, name: str) -> str | None:
    head = data.split(b"\r\n\r\n", 1)[0].split(b"\n\n", 1)[0]
    match = re.search(rb"(?im)^" + name.encode() + rb":[ \t]*(.*(?:\r?\n[ \t].*)*)", head)
    if match is None:
        return None
    return " ".join(match.group(1).decode("utf-8", "replace").split())


class _Controller(Controller):
    """aiosmtpd's Controller on a socket we bound ourselves, so port 0 works."""

    def __init__(self, handler: Any, sock: socket.socket, **kwargs: Any) -> None:
        self._sock = sock
        host, port = sock.getsockname()[:2]
        super().__init__(handler, hostname=host, port=port, **kwargs)

    def factory(self) -> Any:
        # AUTH without TLS is what a loopback test of a relay needs; the sandbox knows.
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", "Requiring AUTH while not requiring TLS")
            return super().factory()  # type: ignore[no-untyped-call]

    def _create_server(self) -> Any:
        return self.loop.create_server(self._factory_invoker, sock=self._sock, ssl=self.ssl_context)


class SandboxServer:
    """A local SMTP server with provider-like behaviours (see the module docstring).

    ``tls_context`` (a server-side SSLContext) enables STARTTLS, or implicit TLS when
    ``implicit_tls``; ``require_starttls`` refuses mail before STARTTLS; ``auth`` (user →
    password) requires AUTH PLAIN/LOGIN, over TLS when a TLS context is given.
    ``maildir``, when given, receives a copy of every accepted message. ``received``,
    ``later_bounces`` and ``events`` are snapshots, safe to read from any thread;
    ``on_event`` is called in the server's thread for each reply about a recipient.
    """

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        rules: Sequence[SandboxRule] = DEFAULT_RULES,
        maildir: Path | None = None,
        tls_context: ssl.SSLContext | None = None,
        require_starttls: bool = False,
        auth: Mapping[str, str] | None = None,
        implicit_tls: bool = False,
        greylist_delay: float = 0.0,
        hostname: str = "sandbox.mailbounce.localhost",
        on_event: Callable[[SandboxEvent], None] | None = None,
    ) -> None:
        if implicit_tls and tls_context is None:
            raise ConfigError("implicit TLS needs a TLS context (certificate and key)")
        self.host = host
        self.rules = tuple(rules)
        self.maildir = maildir
        self.tls_context = tls_context
        self.require_starttls = require_starttls
        self.auth = dict(auth) if auth is not None else None
        self.implicit_tls = implicit_tls
        self.greylist_delay = greylist_delay
        self.hostname = hostname
        self.on_event = on_event
        self._requested_port = port
        self._port: int | None = None
        self._lock = threading.Lock()
        self._received: list[ReceivedMessage] = []
        self._later: list[LaterBounce] = []
        self._events: list[SandboxEvent] = []
        self._greylist: dict[tuple[str, str, str], float] = {}
        self._controller: _Controller | None = None

    # -- lifecycle -------------------------------------------------------------------------

    def start(self) -> None:
        """Listen and serve in a background thread; ``port`` is known on return."""
        if self._controller is not None:
            return
        family = socket.AF_INET6 if ":" in self.host else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((self.host, self._requested_port))
        except OSError as exc:
            sock.close()
            raise ConfigError(
                f"the sandbox cannot listen on {self.host}:{self._requested_port}: {exc.strerror}"
            ) from None
        self._port = sock.getsockname()[1]
        controller = _Controller(_Handler(self), sock, **self._smtp_options())
        controller.start()
        self._controller = controller

    def _smtp_options(self) -> dict[str, Any]:
        options: dict[str, Any] = {
            "server_hostname": self.hostname,
            "ready_timeout": 30.0,
            "enable_SMTPUTF8": True,
        }
        if self.tls_context is not None:
            if self.implicit_tls:
                options["ssl_context"] = self.tls_context
            else:
                options["tls_context"] = self.tls_context
                options["require_starttls"] = self.require_starttls
        if self.auth is not None:
            options["authenticator"] = self._authenticate
            options["auth_required"] = True
            # Over loopback without TLS, tests may authenticate in clear; with TLS, only
            # once the channel is encrypted, like a real submission server.
            options["auth_require_tls"] = self.tls_context is not None and not self.implicit_tls
        return options

    def stop(self) -> None:
        controller, self._controller = self._controller, None
        if controller is not None:
            controller.stop()

    def __enter__(self) -> SandboxServer:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def port(self) -> int:
        if self._port is None:
            raise RuntimeError("the sandbox is not started")
        return self._port

    @property
    def url(self) -> str:
        """``smtp://host:port``, the form campaign files and ``--smtp`` take."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"smtp://{host}:{self.port}"

    # -- what happened ---------------------------------------------------------------------

    @property
    def received(self) -> list[ReceivedMessage]:
        with self._lock:
            return list(self._received)

    @property
    def later_bounces(self) -> list[LaterBounce]:
        with self._lock:
            return list(self._later)

    @property
    def events(self) -> list[SandboxEvent]:
        with self._lock:
            return list(self._events)

    def reset(self) -> None:
        """Forget what was received and the greylisting triplets."""
        with self._lock:
            self._received.clear()
            self._later.clear()
            self._events.clear()
            self._greylist.clear()

    # -- decisions (called from the server thread) -----------------------------------------

    def _authenticate(
        self, server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any
    ) -> AuthResult:
        if not isinstance(auth_data, LoginPassword) or self.auth is None:
            return AuthResult(success=False, handled=False)
        expected = self.auth.get(auth_data.login.decode("utf-8", "replace"))
        # handled=False lets aiosmtpd send the 535 reply itself on failure.
        ok = expected is not None and hmac.compare_digest(
            expected.encode("utf-8"), bytes(auth_data.password)
        )
        return AuthResult(success=ok, handled=False)

    def _greylisted(self, peer: str, mail_from: str, recipient: str) -> bool:
        """True when this triplet must still wait (RFC 6647 §2.1 greylisting)."""
        key = (peer, normalize_address(mail_from), normalize_address(recipient))
        now = time.monotonic()
        with self._lock:
            first = self._greylist.setdefault(key, now)
        return first == now or now - first < self.greylist_delay

    def _record_event(self, event: SandboxEvent) -> None:
        with self._lock:
            self._events.append(event)
        if self.on_event is not None:
            self.on_event(event)

    def _record_message(self, message: ReceivedMessage, later: list[str]) -> int:
        """Record an accepted message; its number (1, 2, ...) serves as queue id."""
        with self._lock:
            self._received.append(message)
            number = len(self._received)
            for recipient in later:
                self._later.append(
                    LaterBounce(
                        recipient,
                        message.mail_from,
                        message.message_id,
                        message.data,
                        message.received_at,
                    )
                )
        if self.maildir is not None:
            box = mailbox.Maildir(self.maildir, create=True)
            envelope = (
                f"Return-Path: <{message.mail_from}>\r\n"
                f"X-Sandbox-Recipients: {', '.join(message.rcpt_tos)}\r\n"
            ).encode()
            box.add(envelope + message.data)
        return number


class _Handler:
    """aiosmtpd hooks: decide per recipient, record, reply."""

    def __init__(self, sandbox: SandboxServer) -> None:
        self.sandbox = sandbox

    def _event(self, session: Any, stage: str, mail_from: str, rcpt: str, reply: str) -> None:
        self.sandbox._record_event(
            SandboxEvent(datetime.now(UTC), _peer(session), stage, mail_from, rcpt, reply)
        )

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, rcpt_options: list[str]
    ) -> str:
        mail_from = envelope.mail_from or ""
        behaviour = behaviour_for(address, self.sandbox.rules)
        if behaviour == "disconnect":
            self._event(session, "RCPT", mail_from, address, "(connection dropped)")
            return await _drop(server)
        if behaviour == "tempfail_421":
            self._event(session, "RCPT", mail_from, address, REPLY_421)
            # The reply is written first; the close runs once the handler has returned.
            server.loop.call_soon(server.transport.close)
            return REPLY_421
        reply = REPLY_OK
        if behaviour == "unknown_user":
            reply = reply_unknown_user(address)
        elif behaviour == "mailbox_full":
            reply = REPLY_MAILBOX_FULL
        elif behaviour == "greylist" and self.sandbox._greylisted(
            _peer(session), mail_from, address
        ):
            reply = REPLY_GREYLISTED
        if reply == REPLY_OK:
            envelope.rcpt_tos.append(address)
            envelope.rcpt_options.extend(rcpt_options)
        else:
            self._event(session, "RCPT", mail_from, address, reply)
        return reply

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        mail_from = envelope.mail_from or ""
        rcpts = tuple(envelope.rcpt_tos)
        behaviours = [behaviour_for(rcpt, self.sandbox.rules) for rcpt in rcpts]
        if "spam" in behaviours:
            for rcpt in rcpts:
                self._event(session, "DATA", mail_from, rcpt, REPLY_SPAM)
            return REPLY_SPAM
        data = envelope.original_content or envelope.content or b""
        if isinstance(data, str):
            data = data.encode("utf-8", "surrogateescape")
        message = ReceivedMessage(mail_from, rcpts, bytes(data), _peer(session), datetime.now(UTC))
        later = [r for r, b in zip(rcpts, behaviours, strict=True) if b == "bounce_later"]
        number = self.sandbox._record_message(message, later)
        if "disconnect_after_data" in behaviours:
            for rcpt in rcpts:
                self._event(session, "DATA", mail_from, rcpt, "(connection dropped after data)")
            return await _drop(server)
        reply = f"250 2.0.0 Ok: queued as {number:06d}"
        for rcpt in rcpts:
            self._event(session, "DATA", mail_from, rcpt, reply)
        return reply


async def _drop(server: Any) -> str:
    """Close the connection without a reply; the session task is cancelled with it."""
    server.transport.close()
    await asyncio.sleep(3600)
    return REPLY_421


def _peer(session: Any) -> str:
    peer = getattr(session, "peer", None)
    if isinstance(peer, tuple) and peer:
        return str(peer[0])
    return str(peer or "")
