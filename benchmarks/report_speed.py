"""Report speed: `mailbounce report` on 1,000,000 deliveries and 100,000 bounces.

Builds a store in a temp dir (bulk SQL inserts against the real schema, so the schema's
triggers keep the report counters as they would for any writer), then times the report in
every format beside a plain ``SELECT count(*) FROM deliveries`` over the same table, each
in its own child process so its peak RSS is its own. Target: report <= 10x the baseline,
memory flat (peak RSS independent of the number of rejected rows).

The table, markdown, json and html formats list the 100 most recent rejections (the
default ``--limit``): they are held to the ratio. The full exports (csv, and json with
``--all``) write every rejected row, O(rejected rows): they are printed in rows/second,
not as a ratio they cannot meet. Each line gives the work after the imports (held to the
target: the baseline's clock also starts after ``import sqlite3``) and the time with
importing mailbounce (a constant, whatever the store's size).

    python benchmarks/report_speed.py [--deliveries N] [--bounces N] [--db PATH]
"""

from __future__ import annotations

import argparse
import importlib
import os
import random
import resource
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

LIMITED = ("table", "markdown", "json", "html")
EXPORTS = ("csv", "json-all")
DOMAINS = (
    "orange.fr",
    "wanadoo.fr",
    "free.fr",
    "sfr.fr",
    "laposte.net",
    "gmail.com",
    "yahoo.fr",
    "outlook.fr",
    "asso.example",
    "club.example",
)
FAILED = (
    ("userunknown", "permanent", "recipient", "5.1.1"),
    ("spamdetected", "permanent", "content", "5.7.1"),
    ("blocked", "permanent", "sender", "5.7.1"),
    ("hostunknown", "permanent", "recipient", "5.1.2"),
)
BOUNCED = (
    ("userunknown", "permanent", "recipient", "5.1.1"),
    ("mailboxfull", "temporary", "recipient", "4.2.2"),
    ("feedback", "complaint", "unknown", None),
    ("spamdetected", "permanent", "content", "5.7.1"),
    ("vacation", "autoreply", "unknown", None),
    ("undefined", "permanent", "unknown", None),
)
NOW = "2026-11-20T10:00:00+00:00"


def build(db: Path, deliveries: int, bounces: int) -> None:
    from mailbounce.store import Store

    Store(db).close()  # creates the schema (migrations)
    rng = random.Random(5)
    conn = sqlite3.connect(db, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=OFF")
    conn.execute("BEGIN")
    conn.execute(
        "INSERT INTO campaigns (id, name, subject, created_at) VALUES (1, 'big', 'Big', ?)", (NOW,)
    )

    def rows():  # type: ignore[no-untyped-def]
        for i in range(1, deliveries + 1):
            address = f"m{i}@{DOMAINS[i % len(DOMAINS)]}"
            roll = rng.random()
            state, skip, reason, kind, party, status = "sent", None, None, None, None, None
            if roll < 0.03:
                state, (reason, kind, party, status) = "failed", FAILED[i % len(FAILED)]
            elif roll < 0.05:
                state, reason, kind, party, status = (
                    "deferred",
                    "greylisted",
                    "temporary",
                    "remote",
                    "4.7.1",
                )
            elif roll < 0.09:
                state, skip = "skipped", ("unsubscribed", "invalid", "no_address")[i % 3]
            elif roll < 0.095:
                state, reason = "uncertain", "undefined"
            yield (
                i,
                1,
                address,
                state,
                skip,
                reason,
                kind,
                party,
                status,
                f"550 {status} rejected" if status else None,
                NOW,
                NOW,
            )

    conn.executemany(
        "INSERT INTO deliveries (id, campaign_id, address, state, skip_cause, reason, kind,"
        " party, status, last_reply, last_attempt_at, updated_at)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        rows(),
    )
    sent = [row[0] for row in conn.execute("SELECT id FROM deliveries WHERE state = 'sent'")]
    picked = rng.sample(sent, min(bounces, len(sent)))

    def bounce_rows():  # type: ignore[no-untyped-def]
        for number, delivery_id in enumerate(picked):
            reason, kind, party, status = BOUNCED[number % len(BOUNCED)]
            address = f"m{delivery_id}@{DOMAINS[delivery_id % len(DOMAINS)]}"
            yield (
                f"<b{number}@mx>",
                "bench.mbox",
                address,
                1,
                delivery_id,
                status,
                reason,
                kind,
                int(reason == "userunknown"),
                party,
                f"{status or ''} diagnostic for {address}",
                NOW,
                NOW,
            )

    conn.executemany(
        "INSERT INTO bounces (source_key, source, recipient, campaign_id, delivery_id, status,"
        " reason, kind, hardbounce, party, diagnostic, date, recorded_at)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        bounce_rows(),
    )
    conn.execute(
        "INSERT INTO events (at, type, address, campaign_id, delivery_id, data_json)"
        " SELECT ?, 'send.deferred', address, 1, id, '{\"reason\": \"greylisted\"}'"
        " FROM deliveries WHERE id % 20 = 0",
        (NOW,),
    )
    conn.execute("COMMIT")
    conn.execute("ANALYZE")
    # Fold the bulk load's WAL into the database, as a long-lived store would be.
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()


def child(db: Path, what: str) -> None:
    """One measurement, in this process: prints the seconds of the work alone (after the
    imports, as the baseline's ``import sqlite3`` is before its clock), the seconds with the
    imports, the peak RSS (MB) and the rejected rows written by a full export."""
    start = time.perf_counter()
    rows = 0
    if what == "count":
        imported = time.perf_counter()
        conn = sqlite3.connect(db)
        conn.execute("SELECT count(*) FROM deliveries").fetchone()
        conn.close()
    else:
        from mailbounce.report import build_report
        from mailbounce.report_text import ReportFormat, write_report
        from mailbounce.store import Store

        fmt, _, scope = what.partition("-")
        if fmt == "html":
            importlib.import_module("mailbounce.report_html")
        imported = time.perf_counter()
        with Store(db) as store, open(os.devnull, "w", encoding="utf-8") as out:
            report = build_report(store, "big", "fr", limit=None if scope == "all" else 100)
            if what == "summary":
                report.summary()
            else:
                write_report(report, ReportFormat(fmt), out)
            rows = report.rejected_total if fmt == "csv" or scope == "all" else 0
    done = time.perf_counter()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"{done - imported:.4f} {done - start:.4f} {peak:.1f} {rows}")


Measure = tuple[float, float, float, int]  # work s, with imports s, peak RSS MB, rows


def measure(db: Path, what: str) -> Measure:
    done = subprocess.run(
        [sys.executable, __file__, "--db", str(db), "--child", what],
        capture_output=True,
        text=True,
        check=True,
    )
    work, total, peak, rows = done.stdout.split()
    return float(work), float(total), float(peak), int(rows)


def best(db: Path, what: str, runs: int = 3) -> Measure:
    """The fastest of ``runs`` (the machine is shared: the minimum is the least disturbed)."""
    return min(measure(db, what) for _ in range(runs))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--deliveries", type=int, default=1_000_000)
    parser.add_argument("--bounces", type=int, default=100_000)
    parser.add_argument("--db", type=Path)
    parser.add_argument("--child")
    parser.add_argument("--build", action="store_true")
    args = parser.parse_args()
    if args.child:
        child(args.db, args.child)
        return
    if args.build:
        build(args.db, args.deliveries, args.bounces)
        return
    with tempfile.TemporaryDirectory() as tmp:
        db = args.db or Path(tmp) / "bench.db"
        if not db.exists():
            start = time.perf_counter()
            # In a child: ru_maxrss of the measuring children counts the memory of the
            # process they were forked from, so this one must stay small.
            subprocess.run(
                [
                    sys.executable,
                    __file__,
                    "--db",
                    str(db),
                    "--build",
                    "--deliveries",
                    str(args.deliveries),
                    "--bounces",
                    str(args.bounces),
                ],
                check=True,
            )
            print(
                f"store: {args.deliveries:,} deliveries, {args.bounces:,} bounces "
                f"built in {time.perf_counter() - start:.1f} s"
            )
        measure(db, "count")  # warm the page cache for every run alike
        base, _, base_rss, _ = best(db, "count")
        print(
            f"baseline SELECT count(*) FROM deliveries: {base * 1000:8.1f} ms"
            f"  peak RSS {base_rss:6.1f} MB"
        )
        print("report (work after imports | with importing mailbounce), best of 3:")
        for what in ("summary", *LIMITED):
            work, total, peak, _ = best(db, what)
            verdict = "ok" if work <= 10 * base else "MISSED"
            name = "figures only" if what == "summary" else f"--format {what}"
            print(
                f"  {name:<18} {work * 1000:7.1f} ms = {work / base:5.1f}x baseline"
                f" (target <= 10x: {verdict}) | {total * 1000:7.1f} ms = {total / base:5.1f}x"
                f"  peak RSS {peak:6.1f} MB"
            )
        print("full exports, O(rejected rows):")
        for what in EXPORTS:
            work, total, peak, rows = best(db, what, runs=1)
            fmt, _, scope = what.partition("-")
            name = f"--format {fmt}" + (" --all" if scope else "")
            print(
                f"  {name:<18} {work * 1000:7.1f} ms for {rows:,} rejected rows ="
                f" {rows / work:9,.0f} rows/s | {total * 1000:7.1f} ms"
                f"  peak RSS {peak:6.1f} MB"
            )


if __name__ == "__main__":
    main()
