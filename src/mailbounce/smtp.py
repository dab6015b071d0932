"""SMTP client for relay mode: TLS, AUTH, connection reuse; replies as plain data.

The only module importing ``smtplib``. One ``SmtpClient`` is one connection, reused for
many messages (RSET after a refused recipient). ``send`` walks MAIL, RCPT, DATA itself
so the caller can commit ``in_flight`` at the exact point DESIGN §6 needs: before the
message's data and final dot are written, after which a lost reply means ``uncertain``.
The send loop uses ``open`` (connect, TLS, EHLO, AUTH) through ``wire``, then runs the
same transactions without blocking on replies (``smtp_pipeline.Session``).

Classification of replies is not done here: ``classify.classify_smtp_reply`` owns it.
A failure of the whole session (cannot connect, TLS or authentication refused, a 5xx to
MAIL FROM) raises ``SmtpSetupError``: nothing about a recipient can be concluded from it.

The password is a ``config.Secret``: it is revealed only in the call to ``login`` and never
appears in a message, a repr or an exception raised from here.

The settings and ``--smtp`` URL parsing are in ``smtp_settings``, the DATA encoding in
``smtp_wire``, the tests' crash points in ``crash_points``.
"""

from __future__ import annotations

import contextlib
import re
import smtplib
import socket
import ssl
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import NamedTuple

from mailbounce.crash_points import crash_point
from mailbounce.errors import SmtpSetupError
from mailbounce.smtp_settings import SmtpSettings, TlsMode
from mailbounce.smtp_wire import one_line, wire_data


class Stage(StrEnum):
    """Where in the transaction a reply (or a lost connection) happened."""

    MAIL = "mail"
    RCPT = "rcpt"
    DATA = "data"
    END_OF_DATA = "end_of_data"


class Result(StrEnum):
    ACCEPTED = "accepted"  # 2xx after the final dot
    REFUSED = "refused"  # a 4xx/5xx reply at some stage; the connection may still be usable
    LOST_BEFORE_DOT = "lost_before_dot"  # the message cannot have been accepted: retry
    LOST_AFTER_DOT = "lost_after_dot"  # the server may have it: uncertain


@dataclass(frozen=True, slots=True)
class Wire:
    """An open, secured, authenticated connection's socket and what its server offers,
    for ``smtp_pipeline.Session``, which runs the transactions on it without smtplib."""

    sock: socket.socket
    pipelining: bool
    eight_bit_mime: bool
    smtputf8: bool


class SendResult(NamedTuple):
    """How an attempt ended. Immutable as a frozen dataclass would be, but made in about
    half the time (one per message in the send loop)."""

    result: Result
    stage: Stage
    code: int | None = None
    text: str = ""

    @property
    def reply(self) -> str:
        return f"{self.code} {self.text}".strip() if self.code else self.text


class SmtpClient:
    """One connection to the relay, opened on first use and reused across messages."""

    def __init__(self, settings: SmtpSettings) -> None:
        self.settings = settings
        self._smtp: smtplib.SMTP | None = None

    def __repr__(self) -> str:
        return f"SmtpClient({self.settings.where}, tls={self.settings.tls})"

    @property
    def connected(self) -> bool:
        return self._smtp is not None

    def wire(self) -> Wire:
        """The open connection's socket (opened if needed) for a non-blocking session.

        smtplib has read every reply the server sent (EHLO, STARTTLS, AUTH): the socket
        holds nothing unread, and the session reads and writes it from here on.
        """
        if self._smtp is None:
            self.open()
        smtp = self._smtp
        assert smtp is not None and smtp.sock is not None
        return Wire(
            smtp.sock,
            pipelining=bool(smtp.has_extn("pipelining")),
            eight_bit_mime=bool(smtp.has_extn("8bitmime")),
            smtputf8=bool(smtp.has_extn("smtputf8")),
        )

    def open(self) -> None:
        """Connect, secure and authenticate; any failure is an ``SmtpSetupError``."""
        settings = self.settings
        context = self._tls_context()
        helo = settings.helo_name or socket.gethostname()
        smtp: smtplib.SMTP | None = None
        try:
            if settings.tls is TlsMode.TLS:
                smtp = smtplib.SMTP_SSL(
                    settings.host,
                    settings.port,
                    local_hostname=helo,
                    timeout=settings.timeout,
                    context=context,
                )
            else:
                smtp = smtplib.SMTP(
                    settings.host, settings.port, local_hostname=helo, timeout=settings.timeout
                )
            smtp.ehlo()
            if settings.tls is TlsMode.STARTTLS:
                self._starttls(smtp, context)
            if settings.user:
                self._login(smtp)
        except SmtpSetupError:
            _quietly_close(smtp)
            raise
        except ssl.SSLCertVerificationError as exc:
            _quietly_close(smtp)
            raise SmtpSetupError(
                f"{settings.where}: the server's TLS certificate is not trusted "
                f"({exc.verify_message}); for a private CA give its certificate with --ca-file"
            ) from None
        except (OSError, smtplib.SMTPException) as exc:
            _quietly_close(smtp)
            raise SmtpSetupError(
                f"{settings.where}: cannot connect: {describe_error(exc)}"
            ) from None
        self._smtp = smtp

    def _tls_context(self) -> ssl.SSLContext | None:
        if self.settings.tls is TlsMode.NONE:
            return None
        ca_file = self.settings.ca_file
        try:
            return ssl.create_default_context(cafile=str(ca_file) if ca_file else None)
        except (OSError, ssl.SSLError) as exc:
            raise SmtpSetupError(f"{ca_file}: cannot load the CA certificate: {exc}") from None

    def _starttls(self, smtp: smtplib.SMTP, context: ssl.SSLContext | None) -> None:
        if not smtp.has_extn("starttls"):
            raise SmtpSetupError(
                f"{self.settings.where} does not offer STARTTLS; use --tls tls for implicit "
                "TLS, or --tls none only for a local test server"
            )
        code, text = smtp.starttls(context=context)
        if code != 220:
            raise SmtpSetupError(
                f"{self.settings.where}: STARTTLS refused: {code} {one_line(text)}"
            )
        smtp.ehlo()

    def _login(self, smtp: smtplib.SMTP) -> None:
        settings = self.settings
        if settings.password is None or not settings.password:
            raise SmtpSetupError(
                f"{settings.where}: --user {settings.user} needs a password: set "
                "MAILBOUNCE_SMTP_PASSWORD or smtp.password_file (mode 0600)"
            )
        if not smtp.has_extn("auth"):
            raise SmtpSetupError(f"{settings.where} does not offer AUTH (is TLS on?)")
        try:
            smtp.login(settings.user or "", settings.password.reveal())
        except smtplib.SMTPAuthenticationError as exc:
            raise SmtpSetupError(
                f"{settings.where}: authentication as {settings.user} refused:"
                f" {exc.smtp_code} {one_line(exc.smtp_error)}"
            ) from None
        except smtplib.SMTPException as exc:
            raise SmtpSetupError(
                f"{settings.where}: authentication as {settings.user} failed: {describe_error(exc)}"
            ) from None

    def close(self) -> None:
        smtp, self._smtp = self._smtp, None
        if smtp is None:
            return
        try:
            smtp.quit()
        except (OSError, smtplib.SMTPException):
            _quietly_close(smtp)

    def drop(self) -> None:
        """Forget a broken or 421-closed connection; the next send reconnects."""
        smtp, self._smtp = self._smtp, None
        _quietly_close(smtp)

    def send(
        self, sender: str, recipient: str, message: bytes, before_data: Callable[[], None]
    ) -> SendResult:
        """Send one message to one recipient on this connection.

        ``before_data`` runs after the server's 354 and before the data and final dot are
        written: the caller commits ``in_flight`` there, so a crash from then on leaves
        ``uncertain`` and never a duplicate. A message that is not pure ASCII (an 8bit
        body, composed so because the relay offers 8BITMIME) is announced with ``BODY=8BITMIME``.
        """
        if self._smtp is None:
            self.open()
        smtp = self._smtp
        assert smtp is not None
        stage = Stage.MAIL
        try:
            refused = self._envelope(smtp, sender, recipient, not message.isascii())
            if refused is not None:
                return refused
            stage = Stage.DATA
            payload = wire_data(message)
            try:
                before_data()
            except BaseException:
                self.drop()  # mid-DATA: the connection cannot be reused
                raise
            smtp.send(payload)
        except (smtplib.SMTPServerDisconnected, OSError) as exc:
            self.drop()
            return SendResult(Result.LOST_BEFORE_DOT, stage, None, describe_error(exc))
        crash_point("after_data")
        try:
            code, text = smtp.getreply()
        except (smtplib.SMTPServerDisconnected, OSError) as exc:
            self.drop()
            return SendResult(Result.LOST_AFTER_DOT, Stage.END_OF_DATA, None, describe_error(exc))
        if code == 421:
            self.drop()
        if 200 <= code < 300:
            return SendResult(Result.ACCEPTED, Stage.END_OF_DATA, code, one_line(text))
        return SendResult(Result.REFUSED, Stage.END_OF_DATA, code, one_line(text))

    def _envelope(
        self, smtp: smtplib.SMTP, sender: str, recipient: str, eight_bit: bool
    ) -> SendResult | None:
        """MAIL, RCPT, DATA; None once the server said 354, else the refusal.

        With PIPELINING (RFC 2920) the three commands go in one write and their three
        replies are read in order: one round trip instead of three.
        """
        options = self._utf8_options(smtp, sender, recipient)
        if isinstance(options, SendResult):
            return options
        if options:
            smtp.command_encoding = "utf-8"
        if eight_bit and smtp.has_extn("8bitmime"):
            options = [*options, "BODY=8BITMIME"]  # RFC 6152 §2
        suffix = "".join(f" {option}" for option in options)
        commands = [
            f"MAIL FROM:{envelope_path(sender)}{suffix}\r\n",
            f"RCPT TO:{envelope_path(recipient)}\r\n",
            "DATA\r\n",
        ]
        encoding = smtp.command_encoding
        if smtp.has_extn("pipelining"):
            smtp.send("".join(commands).encode(encoding))
            replies = _read_replies(smtp, 3)
        else:
            replies = []
            for command in commands:
                smtp.send(command.encode(encoding))
                replies.extend(_read_replies(smtp, 1))
                if replies[-1][0] not in (250, 251, 354):
                    break
        return self._envelope_verdict(smtp, sender, replies)

    def _envelope_verdict(
        self, smtp: smtplib.SMTP, sender: str, replies: list[tuple[int, bytes]]
    ) -> SendResult | None:
        mail, rcpt, data = (replies + [(-1, b"")] * 3)[:3]
        if mail[0] >= 500 and mail[0] != 552:
            # A 5xx to MAIL FROM refuses the sender, not this recipient (RFC 5321 §4.2).
            self.drop()
            raise SmtpSetupError(
                f"{self.settings.where} refuses the sender {sender}: {mail[0]} {one_line(mail[1])}"
            )
        if data[0] == 354 and (mail[0] != 250 or rcpt[0] not in (250, 251)):
            # A server that accepted DATA without a recipient: end the empty message.
            smtp.send(b".\r\n")
            _read_replies(smtp, 1)
        if mail[0] != 250:
            return self._refused(Stage.MAIL, mail[0], mail[1])
        if rcpt[0] not in (250, 251):
            return self._refused(Stage.RCPT, rcpt[0], rcpt[1])
        if data[0] != 354:
            return self._refused(Stage.DATA, data[0], data[1])
        return None

    def _utf8_options(
        self, smtp: smtplib.SMTP, sender: str, recipient: str
    ) -> list[str] | SendResult:
        if (sender + recipient).isascii():
            return []
        if smtp.has_extn("smtputf8"):
            return ["SMTPUTF8"]
        # RFC 6531 §3.7.4.1: 553 5.6.7 when a non-ASCII address meets a server without it.
        return SendResult(
            Result.REFUSED,
            Stage.RCPT,
            553,
            "5.6.7 non-ASCII address needs SMTPUTF8, which the relay does not offer",
        )

    def _refused(self, stage: Stage, code: int, text: bytes | str) -> SendResult:
        """A refusal: 421 closes the connection (RFC 5321 §3.8); otherwise RSET for reuse."""
        if code == 421 or code < 0:
            self.drop()
        else:
            self._reset()
        return SendResult(Result.REFUSED, stage, code if code > 0 else None, one_line(text))

    def _reset(self) -> None:
        smtp = self._smtp
        if smtp is None:
            return
        try:
            code, _ = smtp.rset()
        except (smtplib.SMTPException, OSError):
            code = -1
        if code != 250:
            self.drop()


_SIMPLE_ADDRESS = re.compile(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~.-]+@[A-Za-z0-9.-]+")


def envelope_path(address: str) -> str:
    """``<address>`` for MAIL/RCPT; quoting only when needed (smtplib's parser is slow)."""
    if _SIMPLE_ADDRESS.fullmatch(address) or not address.isascii():
        return f"<{address}>"
    return smtplib.quoteaddr(address)


def _read_replies(smtp: smtplib.SMTP, count: int) -> list[tuple[int, bytes]]:
    """``count`` replies; a connection closed right after a 421 ends the list early."""
    replies: list[tuple[int, bytes]] = []
    for _ in range(count):
        try:
            replies.append(smtp.getreply())
        except (smtplib.SMTPServerDisconnected, OSError):
            if replies and replies[-1][0] == 421:
                break
            raise
    return replies


def describe_error(exc: BaseException) -> str:
    if isinstance(exc, smtplib.SMTPResponseException):
        return f"{exc.smtp_code} {one_line(exc.smtp_error)}"
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused"
    if isinstance(exc, socket.timeout | TimeoutError):
        return "timed out"
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    return str(exc) or type(exc).__name__


def _quietly_close(smtp: smtplib.SMTP | None) -> None:
    if smtp is not None:
        with contextlib.suppress(OSError):
            smtp.close()
