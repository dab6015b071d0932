"""The replies of a transaction, one by one: what each means in the session's phase.

``smtp_pipeline.Session`` reads replies and hands each to ``ReplyMachine._on_reply``,
which moves the session to its next phase (``Phase``) and gives the events the caller acts
on: ``READY`` after the envelope's 354, the end of an attempt (a ``SendResult``), ``VOID``
for an envelope whose connection was lost with the previous message, or the relay refusing
the sender (an ``SmtpSetupError``: a 5xx to MAIL FROM but 552, RFC 5321 §4.2). A refusal is
followed by RSET, or by closing the connection after a 421 (RFC 5321 §3.8); a DATA
accepted without a recipient is ended with an empty message.
"""

from __future__ import annotations

import time
from enum import Enum, auto
from typing import TYPE_CHECKING

from mailbounce.errors import SmtpSetupError
from mailbounce.smtp import Result, SendResult, Stage
from mailbounce.smtp_wire import one_line

if TYPE_CHECKING:
    from collections.abc import Callable

    from mailbounce.smtp import SmtpClient, Wire
    from mailbounce.smtp_envelope import Envelope


class Phase(Enum):
    IDLE = auto()  # no transaction: ready for ``begin``
    ENVELOPE = auto()  # MAIL/RCPT/DATA sent, replies awaited
    READY = auto()  # the server said 354: the caller commits, then ``send_body``
    BODY = auto()  # data and final dot written, the reply awaited
    ENDING = auto()  # a refused envelope got 354 anyway: the empty message's reply awaited
    RESETTING = auto()  # RSET after a refusal, its reply awaited


READY = "ready"  # an event: the server said 354, the caller commits then ``send_body``
# An event: the envelope written with the previous message's data is void (that message's
# reply closed or lost the connection); its recipient was not tried, ``begin`` it again.
VOID = "void"
# The events a session reports: ``READY``, ``VOID``, the end of an attempt (SendResult),
# or the relay refusing the sender (an SmtpSetupError: the run stops).
Event = SendResult | str | SmtpSetupError
# The phases as module globals: ``Phase.IDLE`` goes through ``EnumType.__getattr__`` (~1 µs
# on CPython 3.11, as much as a frozenset look-up of a member, which hashes it in Python),
# and the send loop asks each session's phase several times per message.
_IDLE, _ENVELOPE, _READY = Phase.IDLE, Phase.ENVELOPE, Phase.READY
_BODY, _ENDING, _RESETTING = Phase.BODY, Phase.ENDING, Phase.RESETTING
_ACCEPTED, _REFUSED, _END_OF_DATA = Result.ACCEPTED, Result.REFUSED, Stage.END_OF_DATA


class ReplyMachine:
    """``Session``'s reply handling (a base class of it: its methods are ``Session``'s).

    What it uses of the session, which ``Session`` sets and defines:"""

    client: SmtpClient
    phase: Phase
    awaiting_reply: bool
    _wire: Wire | None
    _replies: list[tuple[int, bytes]]
    _unsent: list[bytes]
    _expected: int
    _refusal_code: int
    _sender: str
    _following: Envelope | None
    _write: Callable[[bytes], list[Event]]
    _drop: Callable[[], None]
    _install: Callable[[Envelope, float], None]

    def _on_reply(self, code: int, text: bytes) -> list[Event]:
        phase = self.phase
        if phase is _ENVELOPE:
            self._replies.append((code, text))
            if self._unsent and code in (250, 251, 354):
                return self._write(self._unsent.pop(0))
            if len(self._replies) < self._expected and not self._unsent:
                return []
            return self._verdict()
        if phase is _BODY:
            return self._end_of_data(code, text)
        if phase is _ENDING:
            return self._after_refusal()
        if phase is _RESETTING:
            self.phase, self.awaiting_reply = _IDLE, False
            if code != 250:
                self._drop()
        return []

    def _end_of_data(self, code: int, text: bytes) -> list[Event]:
        """The reply to the final dot; the following envelope's replies come next."""
        following, self._following = self._following, None
        self.phase, self.awaiting_reply = _IDLE, False
        if code == 421:
            self._drop()
        text_line = one_line(text)
        result = _ACCEPTED if 200 <= code < 300 else _REFUSED
        events: list[Event] = [SendResult(result, _END_OF_DATA, code, text_line)]
        if following is not None:
            if self._wire is None:
                events.append(VOID)
            else:
                self._install(following, time.monotonic())
        return events

    def _verdict(self) -> list[Event]:
        """The envelope's replies: ``READY`` after a 354, else the refusal."""
        replies = self._replies
        if len(replies) == 3:  # the usual case: the three replies of a pipelined envelope
            mail, rcpt, data = replies
        else:
            mail, rcpt, data = (replies + [(-1, b"")] * 3)[:3]
        if mail[0] >= 500 and mail[0] != 552:
            # A 5xx to MAIL FROM refuses the sender, not this recipient (RFC 5321 §4.2).
            self._drop()
            where = self.client.settings.where
            return [
                SmtpSetupError(
                    f"{where} refuses the sender {self._sender}: {mail[0]} {one_line(mail[1])}"
                )
            ]
        if mail[0] != 250:
            stage, (code, text) = Stage.MAIL, mail
        elif rcpt[0] not in (250, 251):
            stage, (code, text) = Stage.RCPT, rcpt
        elif data[0] != 354:
            stage, (code, text) = Stage.DATA, data
        else:
            self.phase, self.awaiting_reply = _READY, False
            return [READY]
        self._refusal_code = code
        result = SendResult(Result.REFUSED, stage, code if code > 0 else None, one_line(text))
        if data[0] == 354:  # a server that accepted DATA without a recipient: end it empty
            self.phase, self.awaiting_reply = _ENDING, True
            self._write(b".\r\n")
        else:
            self._after_refusal()
        return [result]

    def _after_refusal(self) -> list[Event]:
        """421 closes the connection (RFC 5321 §3.8); other refusals RSET for reuse."""
        if self._refusal_code == 421 or self._refusal_code < 0:
            self._drop()
        else:
            self.phase, self.awaiting_reply = _RESETTING, True
            self._write(b"RSET\r\n")
        return []
