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
        self._mail: tuple[tuple[str, ...], bytes] = ((), b"")  # the last MAIL FROM command

    def make(
        self, wire: Wire, sender: str, recipient: str, payload: bytes | list[bytes]
    ) -> Envelope | SendResult:
        """The envelope of a message on the connection ``wire``, or its refusal (a
        non-ASCII address without SMTPUTF8)."""
        options: list[str] = []
        if not (sender + recipient).isascii():
            if not wire.smtputf8:
                # RFC 6531 §3.7.4.1: 553 5.6.7 when a non-ASCII address meets a server without it.
                return SendResult(
                    Result.REFUSED,
                    Stage.RCPT,
                    553,
                    "5.6.7 non-ASCII address needs SMTPUTF8, which the relay does not offer",
                )
            options.append("SMTPUTF8")
        pieces = [payload] if isinstance(payload, bytes) else payload
        # Dot-stuffing and CRLFs add only ASCII: the payload is ASCII iff the message is.
        if wire.eight_bit_mime and not all(map(bytes.isascii, pieces)):
            options.append("BODY=8BITMIME")  # RFC 6152 §2
        encoding = "utf-8" if options and options[0] == "SMTPUTF8" else "ascii"
        mail = self._mail_command(sender, options, encoding)
        rcpt = f"RCPT TO:{envelope_path(recipient)}\r\n".encode(encoding)
        if wire.pipelining:
            return Envelope(sender, pieces, mail + rcpt + b"DATA\r\n", (), 3)
        return Envelope(sender, pieces, mail, (rcpt, b"DATA\r\n"), 1)

    def _mail_command(self, sender: str, options: list[str], encoding: str) -> bytes:
        """MAIL FROM with its options: the same for every message of a run without VERP
        (and with 8bit bodies, as most are or none), so the last one is kept."""
        key = (sender, *options)
        if key != self._mail[0]:
            suffix = "".join([f" {option}" for option in options])
            command = f"MAIL FROM:{envelope_path(sender)}{suffix}\r\n".encode(encoding)
            self._mail = (key, command)
        return self._mail[1]
