"""Ctrl-C at the send loop's awkward moments (library level, real aiosmtpd).

Whatever the moment, a Ctrl-C leaves every recipient ``sent`` (the server has it, once) or
``pending`` (it never had it): none ``in_flight`` or ``claimed`` (DESIGN §6, ``delivery``).
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from pathlib import Path

import pytest
from smtp_testserver import ScriptedServer
from test_send_run import T0, at, options, states, write_campaign

from mailbounce.campaign_loading import load_campaign
from mailbounce.sending import send_campaign
from mailbounce.smtp_envelope import Envelope
from mailbounce.smtp_pipeline import Event, Session

MEMBERS = "email\n" + "".join(f"p{n}@example.org\n" for n in range(60))


def interrupt_at_data(monkeypatch: pytest.MonkeyPatch, count: int) -> None:
    """Ctrl-C the ``count``-th time the loop is about to write a message's data (its
    ``in_flight`` committed): as if it struck between the commit and the write."""
    send_body = Session.send_body
    calls = Counter[str]()

    def interrupted(self: Session, now: float, following: Envelope | None = None) -> list[Event]:
        calls["data"] += 1
        if calls["data"] == count:
            raise KeyboardInterrupt
        return send_body(self, now, following)

    monkeypatch.setattr(Session, "send_body", interrupted)


@pytest.mark.parametrize("concurrency", [1, 4])
@pytest.mark.parametrize("pipelining", [False, True])
def test_ctrl_c_between_commit_and_data_still_sends_the_committed_message(
    tmp_path: Path,
    db_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    concurrency: int,
    pipelining: bool,
) -> None:
    # The interrupted message's data goes out during the drain (it ends sent, not in
    # flight); with PIPELINING, the 354s that then come back for envelopes written with
    # earlier data send nothing more: those recipients go back to pending.
    write_campaign(tmp_path, MEMBERS)
    interrupt_at_data(monkeypatch, 25)
    # One process: the Ctrl-C is raised in this one (not in a forked worker).
    run = dataclasses.replace(at(T0), processes=1)
    with ScriptedServer(pipelining=pipelining) as server:
        campaign = load_campaign(options(tmp_path, server.port, concurrency=concurrency))
        with pytest.raises(KeyboardInterrupt):
            send_campaign(db_path, campaign, run)
        received = Counter(m.rcpt_tos[0] for m in server.received)
    final = states(db_path)
    assert set(final.values()) <= {"sent", "pending"}
    assert {a for a, s in final.items() if s == "sent"} == set(received)
    assert max(received.values()) == 1
    assert len(received) >= 25  # the 25th data went out too
