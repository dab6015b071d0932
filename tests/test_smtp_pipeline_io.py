"""Session's direct reads and writes on a plain connection (smtp_pipeline: os.writev/os.read).

A real socket pair stands for the relay: a write the kernel cannot take whole must go out
complete and in order (the rest through ``sendall``), the next envelope right after the
data; a wake-up with nothing to read must not lose the connection.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from mailbounce.smtp import Result, SendResult, Wire
from mailbounce.smtp_pipeline import READY, Phase, Session


@dataclass
class _Settings:
    timeout: float = 10.0
    where: str = "relay"


class StandInClient:
    """What Session needs of ``smtp.SmtpClient``: the open socket, PIPELINING offered."""

    def __init__(self, sock: socket.socket, pipelining: bool = True) -> None:
        self.sock = sock
        self.pipelining = pipelining
        self.settings = _Settings()

    def wire(self) -> Wire:
        return Wire(self.sock, pipelining=self.pipelining, eight_bit_mime=True, smtputf8=False)

    def drop(self) -> None:
        self.sock.close()

    def close(self) -> None:
        self.sock.close()


@pytest.fixture
def pair() -> Iterator[tuple[socket.socket, socket.socket]]:
    ours, relay = socket.socketpair()
    ours.settimeout(10.0)  # as smtplib leaves it: a timeout, non-blocking at the OS level
    # A small send buffer: a large message cannot go to the kernel in one write.
    ours.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4096)
    yield ours, relay
    ours.close()
    relay.close()


def _read_until(sock: socket.socket, end: bytes, into: list[bytes]) -> None:
    data = b""
    while not data.endswith(end):
        chunk = sock.recv(65536)
        if not chunk:
            break
        data += chunk
    into.append(data)


def _ready(session: Session, relay: socket.socket, recipient: str, payload: bytes) -> None:
    envelope = session.prepare("news@asso.example", recipient, payload)
    assert not isinstance(envelope, SendResult)
    assert session.begin(envelope, 0.0) == []
    assert relay.recv(65536).endswith(b"DATA\r\n")
    relay.sendall(b"250 ok\r\n250 ok\r\n354 go ahead\r\n")
    assert session.on_readable() == [READY]


def test_a_message_larger_than_the_send_buffer_goes_out_whole_with_the_next_envelope(
    pair: tuple[socket.socket, socket.socket],
) -> None:
    ours, relay = pair
    session = Session(StandInClient(ours))  # type: ignore[arg-type]
    body = b"".join(b"line %06d of a long message\r\n" % n for n in range(40_000))
    payload = body + b".\r\n"
    _ready(session, relay, "a@example.org", payload)
    following = session.prepare("news@asso.example", "b@example.org", b"x\r\n.\r\n")
    assert not isinstance(following, SendResult)
    received: list[bytes] = []
    reader = threading.Thread(target=_read_until, args=(relay, b"DATA\r\n", received))
    reader.start()
    assert session.send_body(0.0, following) == []  # blocks until the reader took it all
    reader.join(10)
    assert received == [payload + following.first]
    relay.sendall(b"250 queued\r\n250 ok\r\n250 ok\r\n354 go ahead\r\n")
    result, ready = session.on_readable()
    assert isinstance(result, SendResult) and result.result is Result.ACCEPTED
    assert (result.code, result.text, ready) == (250, "queued", READY)


def test_a_wake_up_with_nothing_to_read_keeps_the_connection(
    pair: tuple[socket.socket, socket.socket],
) -> None:
    ours, relay = pair
    session = Session(StandInClient(ours))  # type: ignore[arg-type]
    _ready(session, relay, "a@example.org", b"hello\r\n.\r\n")
    assert session.send_body(0.0) == []
    assert relay.recv(65536) == b"hello\r\n.\r\n"
    assert session.on_readable() == []  # nothing arrived yet: not a lost connection
    assert session.phase is Phase.BODY
    relay.sendall(b"250 queued\r\n")
    [result] = session.on_readable()
    assert isinstance(result, SendResult) and result.result is Result.ACCEPTED


def test_the_relay_closing_is_a_lost_connection(
    pair: tuple[socket.socket, socket.socket],
) -> None:
    ours, relay = pair
    session = Session(StandInClient(ours))  # type: ignore[arg-type]
    _ready(session, relay, "a@example.org", b"hello\r\n.\r\n")
    assert session.send_body(0.0) == []
    relay.close()
    [result] = session.on_readable()
    assert isinstance(result, SendResult) and result.result is Result.LOST_AFTER_DOT


def _pieces_of(payload: bytes, size: int) -> list[bytes]:
    return [payload[i : i + size] for i in range(0, len(payload), size)]


@pytest.mark.parametrize("size", [7, 50_000, 300_000])
def test_a_message_in_pieces_goes_out_whole_and_in_order_with_the_next_envelope(
    pair: tuple[socket.socket, socket.socket], size: int
) -> None:
    """Pieces are written with one writev (or joined past 64 of them); a write the kernel
    takes in part goes on from the first octet it did not take."""
    ours, relay = pair
    session = Session(StandInClient(ours))  # type: ignore[arg-type]
    body = b"".join(b"line %06d of a long message\r\n" % n for n in range(20_000))
    payload = body + b".\r\n"
    pieces = _pieces_of(payload, size) if size < 300_000 else [body, b".\r\n"]
    envelope = session.prepare("news@asso.example", "a@example.org", pieces)
    assert not isinstance(envelope, SendResult)
    assert session.begin(envelope, 0.0) == []
    assert relay.recv(65536).endswith(b"DATA\r\n")
    relay.sendall(b"250 ok\r\n250 ok\r\n354 go ahead\r\n")
    assert session.on_readable() == [READY]
    following = session.prepare("news@asso.example", "b@example.org", [b"x\r\n", b".\r\n"])
    assert not isinstance(following, SendResult)
    received: list[bytes] = []
    reader = threading.Thread(target=_read_until, args=(relay, b"DATA\r\n", received))
    reader.start()
    assert session.send_body(0.0, following) == []
    reader.join(10)
    assert received == [payload + following.first]


def test_a_non_ascii_piece_asks_for_8bitmime(pair: tuple[socket.socket, socket.socket]) -> None:
    ours, _relay = pair
    session = Session(StandInClient(ours))  # type: ignore[arg-type]
    ascii_only = session.prepare("news@asso.example", "a@example.org", [b"a\r\n", b".\r\n"])
    accented = session.prepare(
        "news@asso.example", "a@example.org", [b"a\r\n", "é\r\n".encode(), b".\r\n"]
    )
    assert not isinstance(ascii_only, SendResult) and not isinstance(accented, SendResult)
    assert b"BODY=8BITMIME" not in ascii_only.first
    assert b"MAIL FROM:<news@asso.example> BODY=8BITMIME\r\n" in accented.first


_GROUPS = [
    b"250 2.0.0 queued\r\n250 ok\r\n250 ok\r\n354 go ahead\r\n",
    b"250-queued\r\n250 as 12\r\n250 ok\r\n250-a\r\n250-b\r\n250 c\r\n354 go\r\n",
    b"250 queued\r\n250 ok\r\n550-5.1.1 no such\r\n550 5.1.1 user\r\n554 no rcpt\r\n",
    b"452 4.3.1 full\r\n250 ok\r\n250 ok\r\n354 go\r\n",
    b"250 queued\n250 ok\n250 ok\n354 go\n",  # bare LF line ends
    b"250 queued\r\nbroken\r\n250 ok\r\n354 go\r\n",  # a line without a code: -1
]


def _events_of(relay_bytes: bytes, cuts: list[int]) -> list[object]:
    ours, relay = socket.socketpair()
    ours.settimeout(10.0)
    try:
        session = Session(StandInClient(ours))  # type: ignore[arg-type]
        _ready(session, relay, "a@example.org", b"hello\r\n.\r\n")
        following = session.prepare("news@asso.example", "b@example.org", b"x\r\n.\r\n")
        assert not isinstance(following, SendResult)
        assert session.send_body(0.0, following) == []
        relay.recv(65536)
        events: list[object] = []
        start = 0
        for end in [*cuts, len(relay_bytes)]:
            if end <= start:
                continue
            relay.sendall(relay_bytes[start:end])
            start = end
            while True:  # until the socket is drained
                before = len(events)
                events += session.on_readable()
                if session.phase in (Phase.IDLE, Phase.READY) or len(events) == before:
                    break
        events.append(session.phase)
        return events
    finally:
        ours.close()
        relay.close()


@pytest.mark.parametrize("group", _GROUPS)
def test_replies_read_together_or_apart_bring_the_same_events(group: bytes) -> None:
    """Whole one-line replies are cut from one read at once; a reply of several lines, a
    line cut between reads or a line without a code is read as ``_next_reply`` reads it."""
    whole = _events_of(group, [])
    assert whole == _events_of(group, list(range(1, len(group))))  # one octet at a time
    assert whole == _events_of(group, [group.index(b"\n") + 1])  # the data's reply first
    assert whole == _events_of(group, [len(group) - 3])
