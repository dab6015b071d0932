"""``Session.awaiting_reply`` is an attribute set with each phase (the send loop reads it
for every connection at every turn): it must say what the phase says, at every step of
every kind of transaction (accepted, refused and reset, DATA without a recipient, 421,
lost connection, time-out, abandon)."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest
from test_smtp_pipeline_io import StandInClient

from mailbounce.smtp_pipeline import Phase, Session


@pytest.fixture
def pair() -> Iterator[tuple[socket.socket, socket.socket]]:
    ours, relay = socket.socketpair()
    ours.settimeout(10.0)
    relay.settimeout(10.0)
    yield ours, relay
    ours.close()
    relay.close()


def _consistent(session: Session) -> None:
    assert session.awaiting_reply == (session.phase not in (Phase.IDLE, Phase.READY))


def _reply(session: Session, relay: socket.socket, data: bytes) -> list[object]:
    relay.sendall(data)  # a socket pair: one read takes all of it
    events: list[object] = list(session.on_readable())
    _consistent(session)
    return events


def _drain(relay: socket.socket) -> None:
    relay.setblocking(False)
    try:
        while relay.recv(65536):
            pass
    except BlockingIOError:
        pass
    relay.settimeout(10.0)


SCRIPTS = {
    # name: the replies, in order, each sent after the session's step
    "accepted": [b"250 ok\r\n250 ok\r\n354 go\r\n", b"250 queued\r\n"],
    "recipient refused": [b"250 ok\r\n550 no such user\r\n503 no recipient\r\n", b"250 reset\r\n"],
    "data without recipient": [
        b"250 ok\r\n550 no such user\r\n354 go\r\n",
        b"250 empty\r\n",
        b"250 reset\r\n",
    ],
    "421": [b"250 ok\r\n421 closing\r\n"],
    "refused after the data": [b"250 ok\r\n250 ok\r\n354 go\r\n", b"554 rejected\r\n"],
}


@pytest.mark.parametrize("name", sorted(SCRIPTS))
def test_awaiting_reply_follows_the_phase(
    name: str, pair: tuple[socket.socket, socket.socket]
) -> None:
    ours, relay = pair
    session = Session(StandInClient(ours, pipelining=True))  # type: ignore[arg-type]
    _consistent(session)
    envelope = session.prepare("a@example.org", "b@example.org", [b"Hi\r\n", b".\r\n"])
    assert not isinstance(envelope, Exception)
    session.begin(envelope, 0.0)  # type: ignore[arg-type]
    _consistent(session)
    for replies in SCRIPTS[name]:
        _drain(relay)
        _reply(session, relay, replies)
        if session.phase is Phase.READY:
            session.send_body(0.0)
            _consistent(session)
    _drain(relay)
    session.close()
    _consistent(session)


def test_awaiting_reply_after_a_lost_connection_a_time_out_and_abandon(
    pair: tuple[socket.socket, socket.socket],
) -> None:
    ours, relay = pair
    session = Session(StandInClient(ours, pipelining=False))  # type: ignore[arg-type]
    envelope = session.prepare("a@example.org", "b@example.org", [b"Hi\r\n.\r\n"])
    session.begin(envelope, 0.0)  # type: ignore[arg-type]
    _consistent(session)
    assert session.awaiting_reply
    _reply(session, relay, b"250 ok\r\n")  # MAIL accepted: RCPT goes out, awaited
    assert session.awaiting_reply
    session.time_out()
    _consistent(session)
    assert not session.awaiting_reply
    relay.close()
    session.abandon()
    _consistent(session)
