"""Ctrl-C during ``parse-bounces --jobs 2``: the command ends at once with exit 130, its
worker processes end with it without a traceback (they ignore SIGINT, which a terminal
sends to the whole process group: the parent ends them, ``worker_pool.WorkerPool.close``),
and what was committed stays readable."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from datetime import UTC, datetime
from pathlib import Path

from processes import interruptible_command

from mailbounce.dsn import make_dsn
from mailbounce.store import Store

NOW = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)


def _mbox(path: Path, count: int) -> Path:
    with path.open("wb") as out:
        for number in range(count):
            dsn = make_dsn(
                original=b"From: Club <news@asso.example>\r\nTo: x@example.org\r\n\r\nBonjour\r\n",
                recipient=f"user{number}@example.org",
                status="5.1.1",
                diagnostic="550 5.1.1 user unknown",
                remote_mta="mx.provider.example",
                reporting_mta="relay.asso.example",
                date=NOW,
            )
            out.write(b"From MAILER-DAEMON Fri Nov 20 10:00:00 2026\n")
            out.write(f"Message-ID: <b.{number}@mx>\n".encode())
            out.write(dsn.replace(b"\r\n", b"\n"))
            out.write(b"\n")
    return path


def _children(pid: int) -> list[int]:
    try:
        return [int(c) for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def test_ctrl_c_ends_the_run_and_its_workers(tmp_path: Path) -> None:
    mbox = _mbox(tmp_path / "bounces.mbox", 20_000)
    db = tmp_path / "mailbounce.db"
    command = interruptible_command(
        "-q", "--db", str(db), "parse-bounces", "--jobs", "2", "--format", "jsonl", str(mbox)
    )
    # Its own process group, which a terminal's Ctrl-C signals as a whole (workers too).
    proc = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True
    )
    assert proc.stdout is not None
    proc.stdout.readline()  # the run has begun: its workers are running
    workers = _children(proc.pid)
    assert workers
    os.killpg(proc.pid, signal.SIGINT)
    started = time.monotonic()
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err.decode()
    assert time.monotonic() - started < 30
    assert b"Traceback" not in err, err.decode()
    deadline = time.monotonic() + 10
    while any(_alive(w) for w in workers) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not any(_alive(w) for w in workers)
    with Store(db) as store:  # what was committed is there, and the database opens
        count = store.conn.execute("SELECT count(*) FROM bounces").fetchone()[0]
    assert 0 < count < 20_000
