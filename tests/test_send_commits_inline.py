"""The send loop's commits run inline, in the loop's thread (``store.writer.Committer``).

Inline, a job runs inside ``submit``: done when it returns, ``collect`` reports its
outcome as the threaded mode did. A second Ctrl-C (which raises at
once, wherever the loop is: ``ctrl_c``) can now land inside a commit: the transaction is
rolled back, and the data of the in_flight it held must not go out.
"""

from __future__ import annotations

import dataclasses
import os
import signal
import threading
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
from smtp_testserver import ScriptedServer
from test_send_run import T0, at, options, states, write_campaign

from mailbounce.campaign_loading import load_campaign
from mailbounce.sending import send_campaign
from mailbounce.store import Store
from mailbounce.store import sending as deliveries
from mailbounce.store.writer import Committer

MEMBERS = "email\n" + "".join(f"p{n}@example.org\n" for n in range(60))


def _setting(value: str) -> Any:
    def job(store: Store) -> None:
        store.conn.execute("CREATE TABLE IF NOT EXISTS t (v TEXT)")
        store.conn.execute("INSERT INTO t VALUES (?)", (value,))

    return job


def test_an_inline_job_is_done_once_submitted(db_path: Path) -> None:
    Store(db_path).close()
    with Committer(db_path) as writer:
        writer.submit(_setting("a"))
        assert writer.busy
        writer.collect()
        assert not writer.busy
        assert [tuple(r) for r in writer.store.conn.execute("SELECT v FROM t")] == [("a",)]


def test_an_inline_jobs_error_is_raised_by_collect_and_rolled_back(db_path: Path) -> None:
    Store(db_path).close()

    def failing(store: Store) -> None:
        with store.transaction() as conn:
            conn.execute("CREATE TABLE u (v TEXT)")
            raise KeyboardInterrupt

    with Committer(db_path) as writer:
        writer.submit(failing)
        with pytest.raises(KeyboardInterrupt):
            writer.collect()
        assert not writer.busy and not writer.store.conn.in_transaction
        tables = writer.store.conn.execute("SELECT name FROM sqlite_master WHERE name = 'u'")
        assert tables.fetchall() == []
        writer.submit(_setting("b"))  # the connection goes on
        writer.collect()


@pytest.mark.parametrize("pipelining", [False, True], ids=["one by one", "pipelining"])
def test_a_second_ctrl_c_inside_a_commit_sends_nothing_it_held(
    tmp_path: Path, db_path: Path, monkeypatch: pytest.MonkeyPatch, pipelining: bool
) -> None:
    if threading.current_thread() is not threading.main_thread():
        pytest.skip("signals reach the main thread only")  # pragma: no cover
    original = deliveries._record_in_flight
    calls = Counter[str]()
    held: list[int] = []

    def record_in_flight(conn: Any, in_flight: Sequence[deliveries.InFlight], now: str) -> None:
        calls["commit"] += 1
        if calls["commit"] == 12:  # inside the transaction: a user pressing Ctrl-C twice
            held.extend(f.delivery_id for f in in_flight)
            os.kill(os.getpid(), signal.SIGINT)
            os.kill(os.getpid(), signal.SIGINT)
        original(conn, in_flight, now)

    monkeypatch.setattr(deliveries, "_record_in_flight", record_in_flight)
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)  # as at a terminal
    try:
        write_campaign(tmp_path, MEMBERS)
        run = dataclasses.replace(at(T0), processes=1)
        with ScriptedServer(pipelining=pipelining) as server:
            campaign = load_campaign(options(tmp_path, server.port, concurrency=4))
            with pytest.raises(KeyboardInterrupt):
                send_campaign(db_path, campaign, run)
            received = Counter(m.rcpt_tos[0] for m in server.received)
    finally:
        signal.signal(signal.SIGINT, previous)
    assert held
    final = states(db_path)
    with Store(db_path) as store:
        marks = ",".join("?" * len(held))
        rows = store.conn.execute(f"SELECT address FROM deliveries WHERE id IN ({marks})", held)
        rolled_back = {row[0] for row in rows}
    assert set(received.values()) <= {1}  # nothing twice
    assert not rolled_back & set(received)  # their data never went out
    assert {final[a] for a in rolled_back} == {"pending"}
    assert {a for a, s in final.items() if s == "sent"} <= set(received)
    # As after a crash: a message whose data went out is sent, or in_flight (uncertain
    # for the next run) if its reply was not committed: at most one per connection.
    assert all(final[a] in ("sent", "in_flight") for a in received), Counter(final.values())
    assert Counter(final.values())["in_flight"] <= 4
    assert set(final.values()) <= {"sent", "pending", "in_flight"}
