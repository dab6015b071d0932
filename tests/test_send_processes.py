"""``mailbounce send`` on several processes (``send_workers``), against a real aiosmtpd server.

Library runs compare a 2-process run with a 1-process run of the same campaign (same
states, report and outcomes); command runs (subprocesses) are interrupted with Ctrl-C, lose
a worker to SIGKILL, or are SIGKILLed themselves, and are then resumed: every recipient is
received exactly once (at most once when ``uncertain``).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path

import pytest
from smtp_testserver import ScriptedServer, free_port
from test_send_run import CSV, SCRIPT, options, write_campaign

from mailbounce import sending
from mailbounce.campaign import Campaign, DomainLimit
from mailbounce.campaign_loading import load_campaign
from mailbounce.errors import SmtpSetupError
from mailbounce.send_split import Share, plan_split
from mailbounce.send_workers import Reporter
from mailbounce.sending import SendOptions, send_campaign
from mailbounce.store import Store

T0 = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)
FILLERS = 120  # recipients after the scripted ones: enough for both workers to take some


def campaign_for(port: int, tmp_path: Path, **kw: object) -> Campaign:
    return load_campaign(options(tmp_path, port, **kw))


def write_members(tmp_path: Path, fillers: int = FILLERS) -> None:
    rows = "".join(f"Nom{n};P{n};p{n:04d}@example.org;Ville{n}\r\n" for n in range(fillers))
    write_campaign(tmp_path, CSV + rows)
    (tmp_path / "news.txt").write_text("Bonjour {{ first_name }} de {{ ville }} !\n", "utf-8")


def states(db_path: Path) -> dict[str, str]:
    with Store(db_path) as store:
        return dict(store.conn.execute("SELECT address, state FROM deliveries ORDER BY id"))


# --- how a run is split -----------------------------------------------------------------


@dataclass(frozen=True)
class Split:
    processes: int  # the shares
    connections: list[int]  # per share
    limits: list[int] | None = None  # per share; None: each may take all that is due


SPLITS: list[tuple[str, dict[str, object], dict[str, object], Split]] = [
    # (case, campaign changes, plan_split arguments, expected)
    ("default: one process", {"concurrency": 8}, {"due": 1000}, Split(1, [8])),
    ("two processes asked", {"concurrency": 8}, {"due": 1000, "processes": 2}, Split(2, [4, 4])),
    ("uneven connections", {"concurrency": 3}, {"due": 1000, "processes": 2}, Split(2, [2, 1])),
    ("more processes asked", {"concurrency": 2}, {"due": 1000, "processes": 4}, Split(2, [1, 1])),
    ("one connection", {"concurrency": 1}, {"due": 1000, "processes": 2}, Split(1, [1])),
    ("one process asked", {"concurrency": 8}, {"due": 1000, "processes": 1}, Split(1, [8])),
    ("dry run", {"concurrency": 8}, {"due": 1000, "processes": 2, "dry_run": True}, Split(1, [8])),
    ("one recipient due", {"concurrency": 8}, {"due": 1, "processes": 2}, Split(1, [8])),
    ("fewer due than connections", {"concurrency": 8}, {"due": 3, "processes": 4},
     Split(3, [1, 1, 1])),
    ("limit split exactly", {"concurrency": 8},
     {"due": 7, "processes": 2, "limited": True}, Split(2, [4, 3], [4, 3])),
    ("domain max 1 connection", {"concurrency": 8, "domains": {"orange.fr": DomainLimit(1)}},
     {"due": 1000, "processes": 2}, Split(1, [8])),
    ("domain connections split", {"concurrency": 8, "domains": {"orange.fr": DomainLimit(3)}},
     {"due": 1000, "processes": 2}, Split(2, [4, 4])),
    ("domain rate", {"concurrency": 8, "domains": {"orange.fr": DomainLimit(None, 2.0)}},
     {"due": 1000, "processes": 2}, Split(1, [8])),
]  # fmt: skip


@pytest.mark.parametrize(
    ("changes", "arguments", "expected"),
    [case[1:] for case in SPLITS],
    ids=[case[0] for case in SPLITS],
)
def test_plan_split(
    tmp_path: Path, changes: dict[str, object], arguments: dict[str, object], expected: Split
) -> None:
    write_members(tmp_path)
    base = campaign_for(free_port(), tmp_path)
    campaign = replace(base, **changes)  # type: ignore[arg-type]
    arguments = {"limited": False, **arguments}
    shares = plan_split(campaign, **arguments)  # type: ignore[arg-type]
    assert len(shares) == expected.processes
    if expected.processes == 1:
        assert shares == [Share(campaign, int(arguments["due"]))]  # type: ignore[call-overload]
        return
    assert [s.campaign.concurrency for s in shares] == expected.connections
    due = arguments["due"]
    assert [s.limit for s in shares] == (expected.limits or [due] * expected.processes)
    if changes.get("domains"):  # a domain's connections add up to its limit, at least 1 each
        per_domain = [s.campaign.domains["orange.fr"].concurrency for s in shares]
        assert per_domain == [2, 1]


def test_rate_is_split_and_staggered(tmp_path: Path) -> None:
    write_members(tmp_path)
    campaign = campaign_for(free_port(), tmp_path, concurrency=8, rate=10.0)
    shares = plan_split(campaign, due=1000, limited=False, processes=2)
    # 5 messages/s each, the second worker's slots half-way between the first's.
    assert [(s.campaign.rate, s.delay) for s in shares] == [(5.0, 0.0), (5.0, 0.1)]


# --- library runs -------------------------------------------------------------------------


@contextmanager
def worker_pids(log: list[str]) -> Iterator[None]:
    """Each share logs the pid of the process that ran it (``-v`` lines are relayed)."""
    original = sending._Deliverer.__call__

    def call(self: sending._Deliverer, share: Share, reporter: Reporter) -> list[int]:
        if reporter.log is not None:
            reporter.log(f"pid {os.getpid()}")
        return original(self, share, reporter)

    sending._Deliverer.__call__ = call  # type: ignore[method-assign]
    try:
        yield
    finally:
        sending._Deliverer.__call__ = original  # type: ignore[method-assign]


def run_once(tmp_path: Path, processes: int) -> tuple[sending.SendReport, list[str], Counter[str]]:
    db = tmp_path / f"p{processes}.db"
    log: list[str] = []
    advanced: list[int] = []

    @contextmanager
    def progress(total: int) -> Iterator[Reporter]:
        advanced.append(total)
        yield Reporter(advanced.append, None)

    with ScriptedServer(SCRIPT) as server, worker_pids(log):
        campaign = campaign_for(server.port, tmp_path, concurrency=4)
        send_options = SendOptions(
            check_dns=False, now=lambda: T0, processes=processes, log=log.append
        )
        report = send_campaign(db, campaign, send_options, progress=progress)
        received = Counter(m.rcpt_tos[0] for m in server.received)
    total, steps = advanced[0], advanced[1:]
    assert total == sum(steps) == report.attempted  # the bar saw every decided recipient
    return report, log, received


def test_two_processes_send_each_recipient_once_and_report_as_one(tmp_path: Path) -> None:
    write_members(tmp_path)
    one, one_log, one_received = run_once(tmp_path, 1)
    two, two_log, two_received = run_once(tmp_path, 2)
    pids = {line for line in two_log if line.startswith("pid ")}
    assert len(pids) == 2 and f"pid {os.getpid()}" not in pids  # two workers did the work
    assert two_received == one_received
    assert set(two_received.values()) == {1}
    assert len(two_received) == FILLERS + 2  # and ann, fay: the others were refused
    assert states(tmp_path / "p2.db") == states(tmp_path / "p1.db")
    for field in ("states", "failed_by_reason", "deferred_by_reason", "skipped_by_cause"):
        assert getattr(two, field) == getattr(one, field), field
    assert two.attempted == one.attempted and two.outcomes == one.outcomes
    # The -v lines of every recipient reach the caller, from whichever process sent it.
    assert sorted(line for line in two_log if not line.startswith("pid ")) == sorted(
        line for line in one_log if not line.startswith("pid ")
    )


def test_limit_is_split_exactly(tmp_path: Path, db_path: Path) -> None:
    write_members(tmp_path, fillers=40)
    with ScriptedServer() as server:
        campaign = campaign_for(server.port, tmp_path, concurrency=4)
        report = send_campaign(db_path, campaign, SendOptions(check_dns=False, limit=7))
        assert report.attempted == 7 and len(server.received) == 7
        assert Counter(states(db_path).values())["pending"] == 40 + 6 - 7
        send_campaign(db_path, campaign, SendOptions(check_dns=False))
        received = Counter(m.rcpt_tos[0] for m in server.received)
    assert set(received.values()) == {1} and len(received) == 40 + 6


def test_a_workers_error_is_the_runs_error(tmp_path: Path, db_path: Path) -> None:
    write_members(tmp_path)
    campaign = campaign_for(free_port(), tmp_path, concurrency=4)  # nobody listens there
    with pytest.raises(SmtpSetupError):
        send_campaign(db_path, campaign, SendOptions(check_dns=False, processes=2))
    # Nothing was tried: every recipient is still to send, none left claimed.
    assert "claimed" not in states(db_path).values()
    assert Counter(states(db_path).values())["pending"] == FILLERS + 6


# --- the command, interrupted and killed ------------------------------------------------

RECIPIENTS = 1500


def command(tmp_path: Path, port: int) -> list[str]:
    members = tmp_path / "many.csv"
    if not members.exists():
        members.write_text(
            "email\n" + "".join(f"m{n:04d}@example.org\n" for n in range(RECIPIENTS)), "utf-8"
        )
        (tmp_path / "body.txt").write_text("Bonjour\n" + "x" * 1000 + "\n", "utf-8")
    return [
        sys.executable, "-m", "mailbounce", "--db", str(tmp_path / "mailbounce.db"), "-q",
        "send", "--campaign", "many", "--list", str(members), "--from", "news@asso.example",
        "--subject", "Hello", "--text", str(tmp_path / "body.txt"),
        "--smtp", f"smtp://127.0.0.1:{port}", "--tls", "none", "--concurrency", "4",
        "--processes", "2", "--format", "csv", "--force",
    ]  # fmt: skip


def start(cmd: list[str], server: ScriptedServer, received: int) -> subprocess.Popen[bytes]:
    """Start the command (a process group of its own, as a shell job); return once the
    server has ``received`` messages."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("MAILBOUNCE_")}
    proc = subprocess.Popen(
        cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True
    )
    while len(server.received) < received:
        assert proc.poll() is None, proc.communicate()[1].decode()
        time.sleep(0.002)
    return proc


def children_of(pid: int) -> list[int]:
    return [int(c) for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]


def gone(pid: int, within: float = 10.0) -> bool:
    deadline = time.monotonic() + within
    while True:
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            return True
        if state == "Z":  # a zombie: dead, waiting for its (new) parent to reap it
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.01)


def finish(cmd: list[str], server: ScriptedServer) -> Counter[str]:
    """Resume until done; what the server received, by recipient."""
    done = subprocess.run(cmd, capture_output=True, check=False)
    assert done.returncode in (0, 3), done.stderr.decode()
    return Counter(m.rcpt_tos[0] for m in server.received)


@pytest.mark.parametrize("to_group", [False, True], ids=["kill -INT", "terminal Ctrl-C"])
def test_ctrl_c_stops_every_worker_cleanly(tmp_path: Path, to_group: bool) -> None:
    # A terminal sends SIGINT to the whole process group: each worker must still see one
    # Ctrl-C (drain), not two (stop at once).
    with ScriptedServer() as server:
        cmd = command(tmp_path, server.port)
        proc = start(cmd, server, 200)
        workers = children_of(proc.pid)
        assert len(workers) == 2
        if to_group:
            os.killpg(proc.pid, signal.SIGINT)
        else:
            proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=60)
        assert proc.returncode == 130, err.decode()
        assert all(gone(pid, within=0) for pid in workers)
        interrupted = states(tmp_path / "mailbounce.db")
        # The workers drained: no claim kept, no message left in flight or uncertain.
        assert set(interrupted.values()) <= {"sent", "pending"}
        received = Counter(m.rcpt_tos[0] for m in server.received)
        assert {a for a, s in interrupted.items() if s == "sent"} == set(received)
        received = finish(cmd, server)
    assert set(states(tmp_path / "mailbounce.db").values()) == {"sent"}
    assert len(received) == RECIPIENTS and set(received.values()) == {1}


def test_a_killed_worker_stops_the_run_and_the_next_run_resumes(tmp_path: Path) -> None:
    with ScriptedServer() as server:
        cmd = command(tmp_path, server.port)
        proc = start(cmd, server, 200)
        killed, other = children_of(proc.pid)
        os.kill(killed, signal.SIGKILL)
        _, err = proc.communicate(timeout=60)
        assert proc.returncode == 1
        assert f"send worker {killed} was killed (SIGKILL)" in err.decode()
        assert gone(other, within=0)
        left = Counter(states(tmp_path / "mailbounce.db").values())
        assert left["in_flight"] <= 2  # the killed worker's connections: settled next run
        received = finish(cmd, server)
    final = states(tmp_path / "mailbounce.db")
    assert set(final.values()) <= {"sent", "uncertain"}
    assert Counter(final.values())["uncertain"] <= 2
    assert all(n == 1 for n in received.values())
    assert all(received[a] == 1 for a, s in final.items() if s == "sent")


def test_a_killed_command_takes_its_workers_with_it(tmp_path: Path) -> None:
    with ScriptedServer() as server:
        cmd = command(tmp_path, server.port)
        proc = start(cmd, server, 200)
        workers = children_of(proc.pid)
        proc.send_signal(signal.SIGKILL)
        proc.communicate(timeout=60)
        assert all(gone(pid) for pid in workers)
        received = finish(cmd, server)
    final = states(tmp_path / "mailbounce.db")
    assert set(final.values()) <= {"sent", "uncertain"}
    assert Counter(final.values())["uncertain"] <= 4  # one per connection at most
    assert all(n == 1 for n in received.values())


def test_a_second_run_waits_for_the_workers_lock(tmp_path: Path) -> None:
    with ScriptedServer() as server:
        cmd = command(tmp_path, server.port)
        proc = start(cmd, server, 50)
        second = subprocess.run(cmd, capture_output=True, check=False)
        assert second.returncode == 75, second.stderr.decode()
        proc.send_signal(signal.SIGINT)
        proc.communicate(timeout=60)
