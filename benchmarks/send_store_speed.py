"""The store's share of a send: list import, claims, committed transitions, the summary.

A 20,000-recipient campaign goes through the real store functions a send uses, without
SMTP: the list import (``ListReader`` → ``import_list`` → ``add_list_recipients``), claims
of 100 (``claim_due``), the send loop's commits (``record_steps``: each holds the
``in_flight`` of 4 messages and the outcome of the 4 before, as the loop's ticks at
``--concurrency 8`` do; one in 20 outcomes is a deferral, one in 50 a failure with a
suppression; Message-IDs are hashes, as a send's are: stored with the recipients by a
revision that does so, else by each ``in_flight`` step), then the run's summary
(``summarise_run``). Each phase's CPU time per message (``time.process_time``: this
process, SQLite included) is printed for the working tree and for a baseline revision,
each in its own process, measured in turns in this run (baseline, working, baseline...):
the median of ``--rounds`` runs of each; and the kilobytes the commits wrote per message
(``steps_kb_written``: WAL frames and checkpoints, from ``/proc/self/io``).

    .venv/bin/python benchmarks/send_store_speed.py [--messages 20000] [--baseline REV]
        [--rounds 3]
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
# The code before session 3's store work: the figures of issue 2 were measured on it.
BASELINE = "0cd55cf"
PHASES = ("import", "claims", "record_steps", "summary", "total", "steps_kb_written")
GROUP = 4  # messages per commit (in_flight of 4, outcomes of the 4 before)


def _message_id(address: str) -> str:
    """A Message-ID as ``compose.make_message_id`` makes it: a hash, so the index of
    ``deliveries.message_id`` takes each one at a random place, as in a real send (a
    sequential id would touch one leaf per commit instead of one per message)."""
    digest = hashlib.sha256(f"bench\x00{address}".encode()).digest()[:15]
    return f"<{base64.b32encode(digest).decode().lower()}.bench@asso.example>"


def _written() -> int:
    """Bytes this process has written so far (``wchar`` of /proc/self/io: the WAL and
    database writes, as nothing else is written while the workload runs)."""
    for line in Path("/proc/self/io").read_text().splitlines():
        if line.startswith("wchar:"):
            return int(line.split()[1])
    return 0


def workload(messages: int) -> dict[str, float]:
    """Run a send's store work on a fresh database; CPU milliseconds per message by phase."""
    from mailbounce.lists import ListReader
    from mailbounce.models import (
        Classification,
        DeliveryState,
        Kind,
        Party,
        Reason,
        SuppressionCause,
    )
    from mailbounce.send_report import SendReport, summarise_run
    from mailbounce.store import Store, sending
    from mailbounce.store import campaigns as campaign_rows
    from mailbounce.store.lists import import_list

    try:  # Message-IDs stored with the recipients (issue 2, session 5), as a send does
        from mailbounce.compose import message_id_maker

        maker = message_id_maker("bench", "asso.example")
    except ImportError:  # a revision before: the in_flight step stores them
        maker = None
    tmp = Path(tempfile.mkdtemp(prefix="mailbounce-store-"))
    csv = tmp / "members.csv"
    with csv.open("w", encoding="utf-8") as out:
        out.write("email,first_name,last_name\n")
        for n in range(messages):
            out.write(f"member{n}@example{n % 7}.org,Prénom{n},Nom{n}\n")
    now = "2026-11-28T12:00:00+00:00"
    later = "2026-11-28T12:05:00+00:00"
    deferred = sending.Outcome(
        sending.S.DEFERRED,
        reply="450 4.2.0 greylisted",
        replycode="450",
        status="4.2.0",
        classification=Classification(Reason.GREYLISTED, Kind.TEMPORARY, False, Party.REMOTE),
        next_attempt_at=later,
    )
    failed = sending.Outcome(
        sending.S.FAILED,
        reply="550 5.1.1 user unknown",
        replycode="550",
        status="5.1.1",
        classification=Classification(Reason.USERUNKNOWN, Kind.PERMANENT, True, Party.RECIPIENT),
        suppress_as=SuppressionCause.INVALID,
    )
    sent = sending.Outcome(
        DeliveryState.SENT, reply="250 2.0.0 Ok: queued as 4Xk2Lq0Zz1", replycode="250"
    )
    figures: dict[str, float] = {}
    with Store(tmp / "store.db") as store:
        start = time.process_time()
        record = campaign_rows.save_campaign(
            store, "bench", subject="Nouvelles", from_addr="news@asso.example", settings={}
        )
        imported = import_list(store, csv, ListReader(csv))
        if maker is not None:
            campaign_rows.add_list_recipients(store, record.id, imported.list_id, message_id=maker)
        else:
            campaign_rows.add_list_recipients(store, record.id, imported.list_id)
        figures["import"] = time.process_time() - start
        written = _written()

        claims = steps = 0.0
        touched: list[int] = []
        previous: list[sending.Delivery] = []
        while True:
            start = time.process_time()
            batch = sending.claim_due(store, record.id, worker="bench", now=now, limit=100)
            claims += time.process_time() - start
            if not batch:
                break
            start = time.process_time()
            for first in range(0, len(batch), GROUP):
                group = batch[first : first + GROUP]
                flying = [_in_flight(sending, d) for d in group]
                concluded = []
                for d in previous:
                    outcome = sent
                    if d.id % 20 == 0:
                        outcome = deferred
                    elif d.id % 50 == 1:
                        outcome = failed
                    concluded.append(sending.Concluded(d, outcome, True))
                sending.record_steps(store, flying, concluded, now=now)
                touched.extend(d.id for d in previous)
                previous = group
            steps += time.process_time() - start
        start = time.process_time()
        last = [sending.Concluded(d, sent, True) for d in previous]
        sending.record_steps(store, [], last, now=now)
        touched.extend(d.id for d in previous)
        steps += time.process_time() - start
        figures["claims"], figures["record_steps"] = claims, steps
        steps_written = _written() - written

        start = time.process_time()
        summarise_run(store, record.id, SendReport(campaign="bench", dry_run=False), touched)
        figures["summary"] = time.process_time() - start
        states = dict(store.conn.execute("SELECT state, COUNT(*) FROM deliveries GROUP BY 1"))
    if sum(states.values()) != messages or states.get("pending") or states.get("claimed"):
        raise SystemExit(f"the workload did not conclude every recipient: {states}")
    figures["total"] = sum(figures.values())
    per_message = {phase: seconds / messages * 1000 for phase, seconds in figures.items()}
    per_message["steps_kb_written"] = steps_written / messages / 1024
    return per_message


def _in_flight(sending: Any, delivery: Any) -> Any:
    """The ``InFlight`` a send makes: the stored Message-ID kept, else a new one stored."""
    if delivery.message_id is not None:
        return sending.InFlight(delivery.id, None, delivery.message_id, store_message_id=False)
    return sending.InFlight(delivery.id, None, _message_id(delivery.address))


def measure(src: Path, messages: int) -> dict[str, float]:
    """The workload in a child process importing mailbounce from ``src``."""
    env = {**os.environ, "PYTHONPATH": str(src)}
    out = subprocess.run(
        [sys.executable, __file__, "--worker", "--messages", str(messages)],
        check=True,
        capture_output=True,
        text=True,
        env=env,
    ).stdout
    return dict(json.loads(out.splitlines()[-1]))


def _median(runs: list[dict[str, float]]) -> dict[str, float]:
    return {phase: statistics.median(run[phase] for run in runs) for phase in PHASES}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=20_000)
    parser.add_argument("--baseline", default=BASELINE, help="git revision to compare with")
    parser.add_argument("--rounds", type=int, default=3, help="runs of each, in turns")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        print(json.dumps(workload(args.messages)))
        return
    with tempfile.TemporaryDirectory(prefix="mailbounce-baseline-") as name:
        base = Path(name)
        archive = subprocess.run(
            ["git", "-C", str(ROOT), "archive", args.baseline, "src"],
            check=True,
            capture_output=True,
        ).stdout
        subprocess.run(["tar", "-x", "-C", str(base)], input=archive, check=True)
        runs: dict[str, list[dict[str, float]]] = {"before": [], "after": []}
        for _ in range(args.rounds):
            runs["before"].append(measure(base / "src", args.messages))
            runs["after"].append(measure(ROOT / "src", args.messages))
    before, after = (_median(runs[which]) for which in ("before", "after"))
    print(
        f"{args.messages} recipients, CPU ms per message (time.process_time, SQLite included),"
        f" median of {args.rounds} runs each, in turns"
    )
    print(f"{'phase':14} {args.baseline:>10} {'working':>10} {'ratio':>7}")
    for phase in PHASES:
        ratio = before[phase] / after[phase] if after[phase] else float("inf")
        print(f"{phase:14} {before[phase]:10.4f} {after[phase]:10.4f} {ratio:6.2f}x")


if __name__ == "__main__":
    main()
