"""A mail transaction's commands, made once per message for ``smtp_pipeline.Session``.

MAIL, RCPT and DATA as ``SmtpClient.send`` writes them: in one group with PIPELINING (RFC
2920), one at a time without; non-ASCII addresses need SMTPUTF8 (RFC 6531), non-ASCII data
is sent with BODY=8BITMIME when offered (RFC 6152).
"""

from __future__ import annotations

from dataclasses import dataclass

from mailbounce.smtp import Result, SendResult, Stage, Wire, envelope_path


@dataclass(slots=True)  # not frozen: a frozen dataclass sets each field through a call
class Envelope:
    """A transaction's commands, ready to write (``Session.prepare``)."""

    sender: str
    # The DATA payload in pieces, written in order with one ``writev``: CRLF lines, dots
    # doubled, ``.`` CRLF at the end.
    payload: list[bytes]
    first: bytes  # what goes out at once: the three commands with PIPELINING, else MAIL
    unsent: tuple[bytes, ...]  # the rest, one per reply (no PIPELINING)
    expected: int  # replies to the first write


class EnvelopeMaker:
    """One connection's envelopes; its last MAIL FROM command is kept for the next."""

    def __init__(self) -> None:
        self._mail: tuple[str, str, bytes] = ("", "", b"")  # the last MAIL FROM command

    def make(
        self, wire: Wire, sender: str, recipient: str, payload: bytes | list[bytes]
    ) -> Envelope | SendResult:
        """The envelope of a message on the connection ``wire``, or its refusal (a
        non-ASCII address without SMTPUTF8)."""
        pieces = [payload] if isinstance(payload, bytes) else payload
        # Dot-stuffing and CRLFs add only ASCII: the payload is ASCII iff the message is.
        eight_bit = wire.eight_bit_mime and not all(map(bytes.isascii, pieces))
        if sender.isascii() and recipient.isascii():
            encoding, options = "ascii", " BODY=8BITMIME" if eight_bit else ""  # RFC 6152 §2
        elif not wire.smtputf8:
            # RFC 6531 §3.7.4.1: 553 5.6.7 when a non-ASCII address meets a server without it.
            return SendResult(
                Result.REFUSED,
                Stage.RCPT,
                553,
                "5.6.7 non-ASCII address needs SMTPUTF8, which the relay does not offer",
            )
        else:
            encoding, options = "utf-8", " SMTPUTF8 BODY=8BITMIME" if eight_bit else " SMTPUTF8"
        mail = self._mail_command(sender, options, encoding)
        rcpt = f"RCPT TO:{envelope_path(recipient)}\r\n".encode(encoding)
        if wire.pipelining:
            return Envelope(sender, pieces, mail + rcpt + b"DATA\r\n", (), 3)
        return Envelope(sender, pieces, mail, (rcpt, b"DATA\r\n"), 1)

    def _mail_command(self, sender: str, options: str, encoding: str) -> bytes:
        """MAIL FROM with its options: the same for every message of a run without VERP
        (and with 8bit bodies, as most are or none), so the last one is kept."""
        last_sender, last_options, command = self._mail
        if sender != last_sender or options != last_options or not command:
            command = f"MAIL FROM:{envelope_path(sender)}{options}\r\n".encode(encoding)
            self._mail = (sender, options, command)
        return command
