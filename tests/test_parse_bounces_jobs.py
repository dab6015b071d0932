"""``parse-bounces --jobs 2`` on an mbox read in many small regions by the workers: the run
stays what ``--jobs 1`` does: same text on stdout, same store, same summary."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from processes import exhaust_after_killing_workers

import mailbounce.parsing
from mailbounce.dsn import make_dsn
from mailbounce.parsing import ParseSettings, ParseSummary, parse_bounces
from mailbounce.render import OutputFormat, render_rows
from mailbounce.store import Store
from mailbounce.suppression import SuppressionPolicy

SECRET = b"test-secret-0123456789abcdef"
NOW = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)
ADDRESSES = ["jean@orange.fr", "marie@free.fr", "lea@sfr.fr", "paul@laposte.net"]
COLUMNS = ("source", "recipient", "status", "reason", "kind", "campaign", "date")

# Every table parse-bounces writes, without the columns holding the time of the run.
TABLES = (
    "SELECT id, state, reason FROM deliveries ORDER BY id",
    "SELECT id, source_key, source, recipient, campaign_id, delivery_id, status, reason,"
    " kind, date FROM bounces ORDER BY id",
    "SELECT address, cause, reason, detail, event_id FROM suppressions ORDER BY address",
    "SELECT id, type, address, campaign_id, delivery_id, data_json FROM events ORDER BY id",
    "SELECT id, source_key, source, reason FROM quarantine ORDER BY id",
)


def _campaign(db: Path) -> None:
    sent_at = "2026-11-19T08:00:00+00:00"
    with Store(db) as store, store.transaction():
        campaign_id = store.conn.execute(
            "INSERT INTO campaigns (name, created_at) VALUES ('nov', ?) RETURNING id", (sent_at,)
        ).fetchone()[0]
        for number, address in enumerate(ADDRESSES):
            store.conn.execute(
                "INSERT INTO deliveries (campaign_id, address, state, message_id,"
                " last_attempt_at, updated_at) VALUES (?, ?, 'sent', ?, ?, ?)",
                (campaign_id, address, f"<nov.{number}@asso.example>", sent_at, sent_at),
            )


def _dsn(address: str, status: str, day: int, message_id: str) -> bytes:
    number = ADDRESSES.index(address) if address in ADDRESSES else 99
    original = (
        f"From: Club <news@asso.example>\r\nTo: {address}\r\n"
        f"Message-ID: <nov.{number}@asso.example>\r\n\r\nBonjour\r\n"
    ).encode()
    dsn = make_dsn(
        original=original,
        recipient=address,
        status=status,
        diagnostic=f"{status[0]}50 {status} mailbox full or unknown (day {day})",
        remote_mta="mx.provider.example",
        reporting_mta="relay.asso.example",
        date=NOW + timedelta(days=day),
    )
    return f"Message-ID: {message_id}\n".encode() + dsn.replace(b"\r\n", b"\n")


def _nested(depth: int) -> bytes:
    body = "text\n"
    for level in range(depth):
        header = f'Content-Type: multipart/mixed; boundary="b{level}"\n\n'
        body = f"{header}--b{level}\n{body}\n--b{level}--\n"
    return ("From: x@example.org\nSubject: deep\nMIME-Version: 1.0\n" + body).encode()


def _mbox(path: Path, count: int) -> Path:
    """Hard and soft bounces to campaign addresses (soft ones crossing the threshold only
    counting earlier regions), strangers, duplicates, a quarantined message and a reply."""
    kinds = [("5.1.1", "jean@orange.fr"), ("5.2.2", "lea@sfr.fr"), ("4.2.2", "marie@free.fr")]
    with path.open("wb") as out:
        for number in range(count):
            out.write(b"From MAILER-DAEMON Fri Nov 20 10:00:00 2026\n")
            if number % 17 == 5:
                out.write(_nested(40))
            elif number % 13 == 7:
                out.write(b"From: paul@laposte.net\nSubject: Re: nouvelles\n\nMerci !\n")
            else:
                status, address = kinds[number % 3]
                if number % 5 == 4:
                    address = f"user{number}@example.org"
                # Every eleventh bounce is the same message again (a second copy).
                message_id = f"<b.{number - number % 11 if number % 11 == 10 else number}@mx>"
                out.write(_dsn(address, status, number // 6, message_id))
            out.write(b"\n")
    return path


def _render(mbox: Path, db: Path, fmt: OutputFormat, jobs: int) -> tuple[str, ParseSummary]:
    settings = ParseSettings(
        jobs=jobs,
        batch_size=9,
        tracking_secret=SECRET,
        policy=SuppressionPolicy(3, timedelta(days=15)),
    )
    run = parse_bounces([str(mbox), str(mbox)], db=db, settings=settings)
    out = io.StringIO()
    render_rows((record.to_dict() for record in run), COLUMNS, fmt, out)
    return out.getvalue(), run.summary


def _tables(db: Path) -> list[list[tuple[object, ...]]]:
    with Store(db) as store:
        return [[tuple(row) for row in store.conn.execute(sql)] for sql in TABLES]


@pytest.mark.parametrize("fmt", [OutputFormat.JSONL, OutputFormat.CSV])
def test_jobs_2_prints_and_stores_what_jobs_1_does(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fmt: OutputFormat
) -> None:
    monkeypatch.setattr(mailbounce.parsing, "REGION_BYTES", 4000)  # many small regions
    mbox = _mbox(tmp_path / "bounces.mbox", 120)
    found = []
    for jobs in (1, 2):
        db = tmp_path / f"jobs{jobs}.db"
        _campaign(db)
        text, summary = _render(mbox, db, fmt, jobs)
        found.append((text, summary, _tables(db)))
    (serial_text, serial, serial_tables), (text, summary, tables) = found
    assert text == serial_text
    assert summary == serial
    assert tables == serial_tables
    # The mbox is given twice: the second pass finds every bounce already known.
    assert serial.already_stored == serial.stored > 0
    assert serial.suppressed and serial.quarantined and serial.not_bounces
    assert serial.deliveries_updated > 0
    assert f"{mbox}#120" in serial_text


def test_no_store_gives_the_records_of_jobs_1(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(mailbounce.parsing, "REGION_BYTES", 4000)
    mbox = _mbox(tmp_path / "bounces.mbox", 60)
    texts = []
    for jobs in (1, 2):
        settings = ParseSettings(jobs=jobs, store=False)
        run = parse_bounces([str(mbox)], db=tmp_path / "absent.db", settings=settings)
        out = io.StringIO()
        render_rows((record.to_dict() for record in run), COLUMNS, OutputFormat.JSONL, out)
        texts.append((out.getvalue(), run.summary))
    assert texts[0] == texts[1]
    assert not (tmp_path / "absent.db").exists()


def test_dead_worker_keeps_what_was_committed_and_a_rerun_completes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(mailbounce.parsing, "REGION_BYTES", 20_000)
    mbox = _mbox(tmp_path / "bounces.mbox", 3000)
    expected_db = tmp_path / "serial.db"
    _campaign(expected_db)
    _render(mbox, expected_db, OutputFormat.JSONL, 1)
    db = tmp_path / "jobs2.db"
    _campaign(db)
    settings = ParseSettings(jobs=2, batch_size=9, policy=SuppressionPolicy(3, timedelta(days=15)))
    run = parse_bounces([str(mbox), str(mbox)], db=db, settings=settings)
    exhaust_after_killing_workers(iter(run))
    with Store(db) as store:
        assert store.conn.execute("SELECT count(*) FROM bounces").fetchone()[0] > 0
    _render(mbox, db, OutputFormat.JSONL, 2)
    done, expected = _tables(db), _tables(expected_db)
    # Ids differ after an interrupted run; what is stored, where and why does not.
    assert done[0] == expected[0]
    assert sorted(row[1:] for row in done[1]) == sorted(row[1:] for row in expected[1])
    assert [row[:4] for row in done[2]] == [row[:4] for row in expected[2]]
