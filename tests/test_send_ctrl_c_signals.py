"""A real Ctrl-C (SIGINT to this process) at the send loop's busiest moments.

``test_send_interrupt`` raises ``KeyboardInterrupt`` from inside the loop by hand; a real
Ctrl-C is a signal, which Python turns into ``KeyboardInterrupt`` at whatever bytecode the
main thread runs next. Under load a worker is often preempted in the middle of the loop,
so the signal lands in the middle of a step: between a reply read from the socket and its
parsing, between a commit's return and the loop taking note of it, between a message's
phase and its data write. Each such moment once left a recipient ``in_flight`` (then
``uncertain``: never sent again although the server never had it, or had it and said so),
or a drain waiting on a reply already read (tests/test_send_processes.py, Ctrl-C under
load). Whatever the moment, the run must end as after any Ctrl-C: every recipient
``sent`` (the server has it, once) or ``pending`` (it never had it).
"""

from __future__ import annotations

import dataclasses
import os
import signal
import socket
import threading
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from smtp_testserver import ScriptedServer
from test_send_run import T0, at, options, states, write_campaign

from mailbounce import ctrl_c, delivery
from mailbounce.campaign_loading import load_campaign
from mailbounce.send_workers import INTERRUPT_SIGNAL
from mailbounce.sending import send_campaign
from mailbounce.smtp_pipeline import Phase, Session
from mailbounce.store.writer import Committer

MEMBERS = "email\n" + "".join(f"p{n}@example.org\n" for n in range(60))


def ctrl_c_inside(
    monkeypatch: pytest.MonkeyPatch,
    owner: type,
    names: tuple[str, ...],
    count: int,
    *,
    after: bool = False,
    when: Callable[[Any], bool] = lambda _: True,
    signum: int = signal.SIGINT,
) -> None:
    """SIGINT (``signum``) this process the ``count``-th time one of ``owner``'s methods
    ``names`` (those it has: the steps are rewritten for speed) is called with ``when``
    true of its object: before its body runs, or ``after`` it returned. Python runs the
    handler at the next bytecode: inside the step, as a Ctrl-C landing there would."""
    calls = Counter[str]()

    def interrupt(self: Any) -> None:
        if when(self):
            calls["step"] += 1
            if calls["step"] == count:
                os.kill(os.getpid(), signum)

    def wrap(original: Callable[..., Any]) -> Callable[..., Any]:
        def wrapped(self: Any, *args: Any, **kwargs: Any) -> Any:
            if not after:
                interrupt(self)
            result = original(self, *args, **kwargs)
            if after:
                interrupt(self)
            return result

        return wrapped

    present = [name for name in names if hasattr(owner, name)]
    assert present, f"{owner.__name__} has none of {names}: choose the moment again"
    for name in present:
        monkeypatch.setattr(owner, name, wrap(getattr(owner, name)))


def _writing_data(session: Session) -> bool:
    return session.phase is Phase.BODY


# How a session writes and parses (``smtp_pipeline``).
_WRITES = ("_write", "_write_pieces")
_PARSES = ("_whole_lines", "_next_reply")

MOMENTS: dict[str, Callable[[pytest.MonkeyPatch], None]] = {
    # send_body has set the BODY phase, the data is not written yet.
    "writing the data": lambda mp: ctrl_c_inside(mp, Session, _WRITES, 20, when=_writing_data),
    # The reply is read from the socket into the session's buffer, not parsed yet.
    "parsing a reply": lambda mp: ctrl_c_inside(mp, Session, _PARSES, 40),
    # The commit thread's job has returned (in_flight committed), the loop not told yet.
    "a commit returning": lambda mp: ctrl_c_inside(mp, Committer, ("collect",), 12, after=True),
}


@pytest.mark.parametrize("pipelining", [False, True], ids=["one by one", "pipelining"])
@pytest.mark.parametrize("moment", list(MOMENTS))
def test_a_ctrl_c_signal_anywhere_leaves_only_sent_or_pending(
    tmp_path: Path,
    db_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    moment: str,
    pipelining: bool,
) -> None:
    if threading.current_thread() is not threading.main_thread():
        pytest.skip("signals reach the main thread only")  # pragma: no cover
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)  # as at a terminal
    try:
        write_campaign(tmp_path, MEMBERS)
        MOMENTS[moment](monkeypatch)
        run = dataclasses.replace(at(T0), processes=1)  # the Ctrl-C strikes this process
        with ScriptedServer(pipelining=pipelining) as server:
            campaign = load_campaign(options(tmp_path, server.port, concurrency=4))
            with pytest.raises(KeyboardInterrupt):
                send_campaign(db_path, campaign, run)
            received = Counter(m.rcpt_tos[0] for m in server.received)
    finally:
        signal.signal(signal.SIGINT, previous)
    final = states(db_path)
    assert set(final.values()) <= {"sent", "pending"}, Counter(final.values())
    assert {a for a, s in final.items() if s == "sent"} == set(received)
    assert set(received.values()) == {1}
    assert 0 < len(received) < len(final)  # interrupted part-way, as the moment was chosen


def test_a_workers_ctrl_c_mid_step_leaves_only_sent_or_pending(
    tmp_path: Path, db_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # --processes 2: the Ctrl-C a worker gets from the parent (``INTERRUPT_SIGNAL``) lands
    # as it writes its 10th message's data; each worker is forked with the patch.
    write_campaign(tmp_path, MEMBERS)
    ctrl_c_inside(monkeypatch, Session, _WRITES, 10, when=_writing_data, signum=INTERRUPT_SIGNAL)
    run = dataclasses.replace(at(T0), processes=2)
    with ScriptedServer(pipelining=True) as server:
        campaign = load_campaign(options(tmp_path, server.port, concurrency=4))
        with pytest.raises(KeyboardInterrupt):
            send_campaign(db_path, campaign, run)
        received = Counter(m.rcpt_tos[0] for m in server.received)
    final = states(db_path)
    assert set(final.values()) <= {"sent", "pending"}, Counter(final.values())
    assert {a for a, s in final.items() if s == "sent"} == set(received)
    assert set(received.values()) == {1}
    assert 0 < len(received) < len(final)


def test_replies_read_when_the_drain_time_is_up_are_still_recorded(
    tmp_path: Path, db_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The drain waits DRAIN_SECONDS for the replies still to come; when that time is up
    # (here at once), the replies already read and not yet committed must still be: a
    # recipient the relay answered is not left in flight (uncertain next run, or a 5xx
    # lost). Only those whose reply is still awaited stay in flight (their data went out).
    write_campaign(tmp_path, MEMBERS)
    monkeypatch.setattr(delivery, "DRAIN_SECONDS", 0.0)
    answered: list[str] = []
    conclude = delivery.DeliveryRun._conclude

    def concluded(self: delivery.DeliveryRun, slot: Any, result: Any, now: Any) -> None:
        answered.append(slot.delivery.address)
        conclude(self, slot, result, now)
        if len(answered) == 25:
            os.kill(os.getpid(), signal.SIGINT)  # acted on at the loop's next wait

    monkeypatch.setattr(delivery.DeliveryRun, "_conclude", concluded)
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        with ScriptedServer(pipelining=True) as server:
            campaign = load_campaign(options(tmp_path, server.port, concurrency=4))
            with pytest.raises(KeyboardInterrupt):
                send_campaign(db_path, campaign, dataclasses.replace(at(T0), processes=1))
            received = Counter(m.rcpt_tos[0] for m in server.received)
    finally:
        signal.signal(signal.SIGINT, previous)
    final = states(db_path)
    assert [a for a in answered if final[a] != "sent"] == []
    assert {a for a, s in final.items() if s == "in_flight"} <= set(received)
    assert set(final.values()) <= {"sent", "pending", "in_flight"}


def test_a_ctrl_c_while_connecting_to_a_silent_relay_stops_at_once(
    tmp_path: Path, db_path: Path
) -> None:
    # A relay that takes the connection and never greets: connecting waits for the relay's
    # timeout (a minute by default). Deferring Ctrl-C must not make a user wait that long:
    # the connection is not part of any recipient's state, so the Ctrl-C ends it at once.
    write_campaign(tmp_path, MEMBERS)
    connections: list[socket.socket] = []
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen()

        def ctrl_c_once_connected() -> None:
            connections.append(silent.accept()[0])  # kept open: the client waits for 220
            signal.pthread_kill(threading.main_thread().ident or 0, signal.SIGINT)

        helper = threading.Thread(target=ctrl_c_once_connected, daemon=True)
        helper.start()
        campaign = load_campaign(options(tmp_path, silent.getsockname()[1], concurrency=1))
        previous = signal.signal(signal.SIGINT, signal.default_int_handler)
        try:
            with pytest.raises(KeyboardInterrupt):
                send_campaign(db_path, campaign, at(T0))
        finally:
            signal.signal(signal.SIGINT, previous)
            helper.join()
            for connection in connections:
                connection.close()
    assert set(states(db_path).values()) == {"pending"}


def test_a_second_ctrl_c_stops_at_once() -> None:
    # The first is acted on at the loop's next turn; a second, before or after, raises at
    # once (the drain is cut short): a user pressing Ctrl-C twice is not kept waiting.
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        with pytest.raises(KeyboardInterrupt), ctrl_c.deferred():
            os.kill(os.getpid(), signal.SIGINT)
            ctrl_c.act()  # the loop's turn: the first Ctrl-C raised here
        assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
        with pytest.raises(KeyboardInterrupt), ctrl_c.deferred():
            os.kill(os.getpid(), signal.SIGINT)
            os.kill(os.getpid(), signal.SIGINT)  # raised at once, before the loop's turn
            raise AssertionError("the second Ctrl-C did not stop the run")
    finally:
        signal.signal(signal.SIGINT, previous)


def test_a_ctrl_c_after_the_loop_ends_the_run_interrupted() -> None:
    # A Ctrl-C the loop had no turn left to act on (it came during the clean-up) is not
    # lost: the run still ends interrupted (exit 130), never as a success.
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        with pytest.raises(KeyboardInterrupt), ctrl_c.deferred():
            os.kill(os.getpid(), signal.SIGINT)
            assert ctrl_c.requested()  # deferred: the clean-up goes on
    finally:
        signal.signal(signal.SIGINT, previous)


def test_handlers_of_others_are_left_alone() -> None:
    # An ignored SIGINT (a shell's background job) stays ignored; an application's own
    # handler stays its own.
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        with ctrl_c.deferred():
            assert signal.getsignal(signal.SIGINT) is signal.SIG_IGN

        def mine(signum: int, frame: object) -> None:
            return None

        signal.signal(signal.SIGINT, mine)
        with ctrl_c.deferred():
            assert signal.getsignal(signal.SIGINT) is mine
    finally:
        signal.signal(signal.SIGINT, previous)
