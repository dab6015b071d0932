"""``mailbounce parse-bounces`` end to end: formats, stdin, exit codes, summary on stderr."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

from mailbounce.dsn import make_dsn

DSN = make_dsn(
    original=b"From: news@asso.example\nTo: jean@orange.fr\nMessage-ID: <n.1@asso.example>\n\nhi\n",
    recipient="jean@orange.fr",
    status="5.1.1",
    diagnostic="550 5.1.1 <jean@orange.fr>: Recipient address rejected: User unknown",
    remote_mta="smtp-in.orange.fr",
    reporting_mta="relay.asso.example",
    date=datetime(2026, 11, 20, 10, 0, tzinfo=UTC),
)
# DESIGN §5, in order.
RECORD_COLUMNS = [
    "source",
    "message_id",
    "recipient",
    "action",
    "status",
    "replycode",
    "reason",
    "kind",
    "hardbounce",
    "party",
    "diagnostic",
    "remote_mta",
    "reporting_mta",
    "feedback_type",
    "date",
    "original_message_id",
    "campaign",
    "detector",
]
UNRECOGNISED = (
    b"From: MAILER-DAEMON@relay.example\nTo: news@asso.example\n"
    b"Subject: Undelivered Mail Returned to Sender\n\nSomething went wrong, somewhere.\n"
)


def _run(
    tmp_path: Path, *args: str, stdin: bytes | None = None
) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "mailbounce",
            "--db",
            str(tmp_path / "m.db"),
            "parse-bounces",
            *args,
        ],
        input=stdin,
        capture_output=True,
        timeout=120,
        check=False,
    )


def test_jsonl_is_the_record_contract(tmp_path: Path) -> None:
    path = tmp_path / "bounce.eml"
    path.write_bytes(DSN)
    done = _run(tmp_path, str(path), "--format", "jsonl")
    assert done.returncode == 0, done.stderr
    lines = done.stdout.decode().splitlines()
    assert len(lines) == 1
    record = json.loads(lines[0])
    assert list(record) == list(RECORD_COLUMNS)
    assert record["source"] == str(path)
    assert (record["recipient"], record["status"], record["reason"]) == (
        "jean@orange.fr",
        "5.1.1",
        "userunknown",
    )
    assert b"1 messages read: 1 records" in done.stderr


def test_csv_and_json_formats(tmp_path: Path) -> None:
    path = tmp_path / "bounce.eml"
    path.write_bytes(DSN)
    done = _run(tmp_path, str(path), "--format", "csv", "--no-store")
    rows = list(csv.DictReader(io.StringIO(done.stdout.decode())))
    assert list(rows[0]) == list(RECORD_COLUMNS) and rows[0]["hardbounce"] == "yes"
    done = _run(tmp_path, str(path), "--format", "json", "--no-store")
    assert json.loads(done.stdout)[0]["kind"] == "permanent"


def test_stdin_for_mta_pipes(tmp_path: Path) -> None:
    done = _run(tmp_path, "-", "--format", "jsonl", stdin=DSN)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["source"] == "-"


def test_missing_source_is_one_line_exit_1(tmp_path: Path) -> None:
    done = _run(tmp_path, str(tmp_path / "nowhere.mbox"))
    assert done.returncode == 1
    assert (
        done.stderr.decode()
        == f"mailbounce: {tmp_path / 'nowhere.mbox'}: no such file or directory\n"
    )
    assert not (tmp_path / "m.db").exists()


def test_strict_exits_3_on_unrecognised(tmp_path: Path) -> None:
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "a.eml").write_bytes(DSN)
    (tmp_path / "in" / "b.eml").write_bytes(UNRECOGNISED)
    relaxed = _run(tmp_path, str(tmp_path / "in"), "-f", "jsonl")
    assert relaxed.returncode == 0
    strict = _run(tmp_path, str(tmp_path / "in"), "-f", "jsonl", "--strict")
    assert strict.returncode == 3
    assert f"unrecognised bounce {tmp_path / 'in' / 'b.eml'}".encode() in strict.stderr
    assert len(strict.stdout.splitlines()) == 1


def test_bad_jobs_is_a_usage_error(tmp_path: Path) -> None:
    done = _run(tmp_path, "-", "--jobs", "0", stdin=DSN)
    assert done.returncode == 2


def test_jobs_2_prints_what_jobs_1_prints(tmp_path: Path) -> None:
    """Workers store and render an mbox themselves: stdout, the summary on stderr and the
    --strict exit are those of --jobs 1, in every format."""
    mbox = tmp_path / "in.mbox"
    with mbox.open("wb") as out:
        for number in range(30):
            out.write(b"From MAILER-DAEMON Fri Nov 20 10:00:00 2026\n")
            message = UNRECOGNISED if number % 7 == 3 else DSN
            out.write(f"Message-ID: <b.{number}@mx>\n".encode() + message + b"\n")
    for fmt in ("jsonl", "csv", "json", "table"):
        found = []
        for jobs in ("1", "2"):
            home = tmp_path / f"{fmt}{jobs}"
            home.mkdir()
            found.append(_run(home, str(mbox), "-f", fmt, "--jobs", jobs, "--strict"))
        serial, parallel = found
        assert (parallel.returncode, serial.returncode) == (3, 3), parallel.stderr
        assert parallel.stdout == serial.stdout
        assert parallel.stderr == serial.stderr
        assert f"unrecognised bounce {mbox}#4".encode() in serial.stderr
