"""SMTP transactions without blocking on replies, for the send loop (``delivery``).

One ``Session`` is one relay connection: ``smtp.SmtpClient`` opens it (TLS, STARTTLS,
AUTH, EHLO) with smtplib, then the session runs the mail transactions on its socket
itself, so that one thread can drive many connections (the loop waits on all their
sockets at once) and reply parsing costs one ``recv`` and a split, not smtplib's
line-by-line reads through a file object.

The transaction is ``SmtpClient.send``'s, step for step: MAIL, RCPT and DATA in one write
with PIPELINING (RFC 2920), one at a time without; a 5xx to MAIL FROM (but 552) refuses
the sender and raises ``SmtpSetupError``; a DATA accepted without a recipient is ended
with an empty message; a refusal is followed by RSET, or by closing the connection after a
421 (RFC 5321 §3.8); non-ASCII addresses need SMTPUTF8 (RFC 6531), non-ASCII data is sent
with BODY=8BITMIME when offered (RFC 6152). What the caller must do between the 354 and
the data (commit ``in_flight``, DESIGN §6) is why ``begin`` → ``READY`` → ``send_body``
are separate calls. With PIPELINING, the next message's envelope may follow the data in
the same write (RFC 2920 §3.1): one write and one read per message instead of two; if the
data's reply closes the connection, that envelope is ``VOID`` (its recipient not tried).
The commands are made by ``smtp_envelope``, the replies read by ``smtp_wire.next_reply``.

Writes are blocking (with the relay's timeout): a command group is a few hundred bytes
and a message body goes to the kernel's send buffer at once; only replies are awaited
through the loop. A session that has waited past the timeout for a reply is lost.

On a plain (not TLS) connection, the socket's descriptor is written and read directly
(``os.writev``, ``os.read``): a socket with a timeout is non-blocking at the OS level (the
``socket`` module's "Notes on socket timeouts"), and its own ``sendall`` and ``recv`` call
``poll`` first every time, a second system call (and a second release of the GIL) per
write and per read. A write the kernel cannot take whole
goes on with ``sendall`` (blocking, with the timeout); a read that finds nothing (a
spurious wake-up) waits for the next readable event.
"""

from __future__ import annotations

import contextlib
import os
import ssl

from mailbounce import ctrl_c
from mailbounce.crash_points import crash_point
from mailbounce.smtp import (
    Result,
    SendResult,
    SmtpClient,
    Stage,
    Wire,
    describe_error,
)
from mailbounce.smtp_envelope import Envelope, EnvelopeMaker
from mailbounce.smtp_replies import READY, VOID, Event, Phase, ReplyMachine
from mailbounce.smtp_wire import next_reply

# The events and phases are defined with the reply handling (``smtp_replies``); importable
# from here as before.
__all__ = ["MAX_REPLY_BYTES", "READY", "VOID", "Event", "Phase", "Session"]

MAX_REPLY_BYTES = 65536  # a reply longer than this without its last line: a broken server


# The phases as module globals: ``Phase.IDLE`` goes through ``EnumType.__getattr__`` (~1 µs
# on CPython 3.11, as much as a frozenset look-up of a member, which hashes it in Python),
# and the send loop asks each session's phase several times per message.
_IDLE, _ENVELOPE, _READY, _BODY = Phase.IDLE, Phase.ENVELOPE, Phase.READY, Phase.BODY
_CLOSED_TEXT = "Connection unexpectedly closed"  # smtplib's words for the same event
# A message in more pieces than this is joined before it is written: writev takes at most
# IOV_MAX (1024 on Linux) buffers; a composed message has a handful (head, the template's
# fixed runs and value lines, the final dot).
_MAX_PIECES = 64


class Session(ReplyMachine):
    """One connection's transactions; see the module docstring."""

    def __init__(self, client: SmtpClient) -> None:
        self.client = client
        # ``awaiting_reply``: a reply is awaited (the phase is neither IDLE nor READY); set
        # with each phase, as the send loop asks it of every connection at each turn.
        self.phase, self.awaiting_reply = _IDLE, False
        self.deadline = 0.0  # monotonic time after which an awaited reply is given up
        self._wire: Wire | None = None
        self._tls: ssl.SSLSocket | None = None  # the open connection's, when it is TLS
        self._fd = -1  # the plain connection's descriptor, read and written directly; else -1
        self.socket_fd = -1  # the open connection's descriptor (``fileno``), -1 when closed
        self._buffer = b""
        self._replies: list[tuple[int, bytes]] = []
        self._unsent: list[bytes] = []  # commands not yet written (no PIPELINING)
        self._expected = 0
        self._payload: list[bytes] = []
        self._refusal_code = 0
        self._sender = ""
        self._body_written = False
        self._following: Envelope | None = None  # written after this message's data
        self._envelopes = EnvelopeMaker()

    def __repr__(self) -> str:
        return f"Session({self.client!r}, {self.phase.name})"

    def fileno(self) -> int:
        return self.socket_fd

    def has_buffered(self) -> bool:
        """Decrypted TLS data already read from the socket: select() will not show it."""
        return self._tls is not None and self._tls.pending() > 0

    def offers_8bitmime(self) -> bool:
        """The relay takes 8bit bodies; opens the connection if needed (``SmtpSetupError``)."""
        return self._open().eight_bit_mime

    def _open(self) -> Wire:
        if self._wire is None:
            # Connecting may take the relay's whole timeout: a Ctrl-C ends it at once.
            with ctrl_c.interruptible():
                self._wire = self.client.wire()
            self._buffer = b""
            sock = self._wire.sock
            self._tls = sock if isinstance(sock, ssl.SSLSocket) else None
            # A socket with a timeout is non-blocking at the OS level; a blocking one (no
            # timeout) keeps the socket module's calls, as TLS needs the ssl module's.
            plain = self._tls is None and bool(sock.gettimeout())
            self.socket_fd = sock.fileno()
            self._fd = self.socket_fd if plain else -1
        return self._wire

    # --- a transaction -------------------------------------------------------------

    @property
    def pipelining(self) -> bool:
        """The open connection's server takes command groups (RFC 2920)."""
        return self._wire is not None and self._wire.pipelining

    def prepare(
        self, sender: str, recipient: str, payload: bytes | list[bytes]
    ) -> Envelope | SendResult:
        """The envelope of a message (opens the connection if needed), or its refusal
        (``EnvelopeMaker.make``).

        ``payload``: the message as SMTP DATA, ready to write (``smtp_wire.wire_data`` of
        it, ``MessageTemplate.render_data``, or its pieces: ``data_chunks``): written as it
        is, never stuffed again.
        """
        return self._envelopes.make(self._open(), sender, recipient, payload)

    def begin(self, envelope: Envelope, now: float) -> list[Event]:
        """Write the envelope (MAIL, RCPT, DATA); events if it ended at once (lost)."""
        self._install(envelope, now)
        return self._write(envelope.first)

    def _install(self, envelope: Envelope, now: float) -> None:
        self._payload, self._sender = envelope.payload, envelope.sender
        self._unsent, self._expected = list(envelope.unsent), envelope.expected
        self._replies = []
        self.phase, self.awaiting_reply = _ENVELOPE, True
        self.deadline = now + self.client.settings.timeout

    def send_body(self, now: float, following: Envelope | None = None) -> list[Event]:
        """Write the data and final dot (after the caller's commit); events if lost.

        ``following`` (PIPELINING only): the next message's envelope, written in the same
        group: "the actual transfer of message content is explicitly allowed to be the
        first command in a group" (RFC 2920 §3.1). Its replies follow this message's.
        """
        payload, self._payload = self._payload, []
        self.phase, self.awaiting_reply = _BODY, True
        self._body_written = False
        self._following = following
        self.deadline = now + self.client.settings.timeout
        if following is not None:
            payload = [*payload, following.first]
        events = self._write_pieces(payload)
        if not events:
            self._body_written = True
            crash_point("after_data")
        return events

    def on_readable(self) -> list[Event]:
        """Read what arrived; the events it brings, in order (see ``Event``)."""
        assert self._wire is not None
        sock = self._wire.sock
        try:
            if self._fd >= 0:
                data = os.read(self._fd, MAX_REPLY_BYTES)
                if not data:
                    return self._lost(None)
                self._buffer += data
            else:
                while True:
                    data = sock.recv(MAX_REPLY_BYTES)
                    if not data:
                        return self._lost(None)
                    self._buffer += data
                    if not (self._tls is not None and self._tls.pending()):
                        break
        except (ssl.SSLWantReadError, ssl.SSLWantWriteError):
            pass  # a partial TLS record: the rest comes with the next readable event
        except BlockingIOError:
            return []  # nothing to read after all: the next readable event brings it
        except OSError as exc:
            return self._lost(exc)
        events = self._whole_lines()
        while self.awaiting_reply and (reply := self._next_reply()) is not None:
            events += self._on_reply(*reply)
        if self.awaiting_reply and len(self._buffer) > MAX_REPLY_BYTES:
            events += self._lost(None)
        return events

    def _whole_lines(self) -> list[Event]:
        """The one-line replies at the start of the buffer, all cut in one ``split`` (a
        pipelined message's four replies often come in one read): ``_next_reply``'s
        reading of each, without a call and a copy of the rest of the buffer per reply.
        Stops at a reply of several lines, or once no reply is awaited; the rest is left
        in the buffer for ``_next_reply``."""
        events: list[Event] = []
        lines = self._buffer.split(b"\n")
        rest = lines.pop()  # after the last line break: a line still incomplete
        for index, line in enumerate(lines):
            phase = self.phase
            if phase is _IDLE or phase is _READY or line[3:4] == b"-":
                if self._wire is not None:  # (a dropped connection's buffer stays empty)
                    self._buffer = b"\n".join([*lines[index:], rest])
                return events
            try:
                code = int(line[:3])
            except ValueError:
                code = -1
            text = line[4:].strip(b" \t\r\n")
            if phase is _ENVELOPE and not self._unsent:
                # A pipelined envelope's replies: ``_on_reply``'s collecting, without a
                # call and a list per reply (three per message).
                replies = self._replies
                replies.append((code, text))
                if len(replies) >= self._expected:
                    events += self._verdict()
                continue
            events += self._on_reply(code, text)
        if self._wire is not None:
            self._buffer = rest
        return events

    def time_out(self) -> list[Event]:
        """The awaited reply did not come within the relay's timeout."""
        return self._lost(TimeoutError())

    def abandon(self) -> None:
        """Stop mid-transaction (the caller's commit failed, or the run stops)."""
        self._drop()

    def close(self) -> None:
        """QUIT an idle connection; drop one mid-transaction."""
        if self.phase is _IDLE and self._wire is not None:
            self._wire, self._tls, self._fd, self.socket_fd = None, None, -1, -1
            self.client.close()
        else:
            self._drop()

    def _write_pieces(self, pieces: list[bytes]) -> list[Event]:
        """Write ``pieces`` in order: one ``writev`` on a plain connection (the kernel
        copies each piece once: no message-sized join in Python)."""
        if self._fd < 0 or len(pieces) > _MAX_PIECES:
            return self._write(b"".join(pieces))
        assert self._wire is not None
        try:
            try:
                written = os.writev(self._fd, pieces)
            except BlockingIOError:
                written = 0
            rest = b"".join(pieces)[written:] if written < sum(map(len, pieces)) else b""
            if rest:  # the kernel's buffer is full: the rest with a blocking write
                self._wire.sock.sendall(rest)
        except OSError as exc:
            return self._lost(exc)
        return []

    def _write(self, data: bytes, more: bytes = b"") -> list[Event]:
        """Write ``data`` then ``more`` (the next envelope: no 5 KB copy to join them)."""
        assert self._wire is not None
        try:
            if (fd := self._fd) >= 0:
                try:
                    written = os.writev(fd, (data, more)) if more else os.write(fd, data)
                except BlockingIOError:
                    written = 0
                if written == len(data) + len(more):
                    return []
                data, more = (data + more)[written:], b""  # the kernel's buffer is full
            self._wire.sock.sendall(data + more if more else data)
        except OSError as exc:
            return self._lost(exc)
        return []

    def _lost(self, exc: BaseException | None) -> list[Event]:
        """The connection broke (``exc``) or closed (None) while a reply was awaited."""
        phase, following = self.phase, self._following
        self._following = None
        self._drop()
        text = describe_error(exc) if exc is not None else _CLOSED_TEXT
        if phase is _ENVELOPE:
            if self._replies and self._replies[-1][0] == 421:
                self.phase, self.awaiting_reply = (
                    _ENVELOPE,
                    True,
                )  # a server closing after its 421: its verdict
                events = self._verdict()
                self._drop()
                return events
            return [SendResult(Result.LOST_BEFORE_DOT, Stage.MAIL, None, text)]
        if phase is not _BODY:
            return []  # lost between transactions: the next ``begin`` reconnects
        if self._body_written:
            lost = SendResult(Result.LOST_AFTER_DOT, Stage.END_OF_DATA, None, text)
        else:
            lost = SendResult(Result.LOST_BEFORE_DOT, Stage.DATA, None, text)
        return [lost, VOID] if following is not None else [lost]

    def _next_reply(self) -> tuple[int, bytes] | None:
        """The next complete reply in the buffer (taken out of it), or None."""
        found = next_reply(self._buffer)
        if found is None:
            return None
        code, text, self._buffer = found
        return code, text

    def _drop(self) -> None:
        self.phase, self.awaiting_reply = _IDLE, False
        self._buffer = b""
        if self._wire is not None:
            self._wire, self._tls, self._fd, self.socket_fd = None, None, -1, -1
            with contextlib.suppress(OSError):
                self.client.drop()
