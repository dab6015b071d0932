"""A batch's bounce rows and events written together (``mailbounce.batch_writes``) store
what one statement per record stores: the same rows, in the same order."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

from mailbounce.dsn import deliver_to_maildir, make_dsn
from mailbounce.models import RECORD_KEYS, BounceRecord, Kind, Party, Reason
from mailbounce.parsing import ParseSettings, parse_bounces
from mailbounce.store import Store, bounce_rows
from mailbounce.store import bounces as bounce_store
from mailbounce.store.contacts import record_event
from mailbounce.suppression import SuppressionPolicy

NOW = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)
RECORD = BounceRecord(
    source="/var/mail/bounces:3",
    message_id="<b1@relay.example>",
    recipient=" <Lea@SFR.fr> ",
    action="failed",
    status="5.2.2",
    replycode="552",
    reason=Reason.MAILBOXFULL,
    kind=Kind.TEMPORARY,
    hardbounce=False,
    party=Party.RECIPIENT,
    diagnostic="552 5.2.2 Mailbox full",
    remote_mta="mx.sfr.fr",
    reporting_mta="relay.asso.example",
    feedback_type=None,
    date="2026-11-20T10:00:00+00:00",
    original_message_id="<nov.1@asso.example>",
    campaign=None,
    detector="rfc3464",
)


def test_to_dict_is_the_record_contract() -> None:
    data = RECORD.to_dict()
    assert tuple(data) == RECORD_KEYS
    for key in RECORD_KEYS:
        value = getattr(RECORD, key)
        assert data[key] == value
    for key in ("reason", "kind", "party"):
        assert type(data[key]) is str


def _rows(store: Store, table: str) -> list[tuple[object, ...]]:
    return [tuple(row) for row in store.conn.execute(f"SELECT * FROM {table} ORDER BY id")]


def test_rows_added_together_are_the_rows_inserted_one_by_one(tmp_path: Path) -> None:
    """Whatever columns are None (left out of the statement), in runs of either shape."""
    records = [
        RECORD,
        replace(RECORD, source="x:1", action=None, status=None, date=None, detector=""),
        replace(RECORD, source="x:2", message_id=None, remote_mta=None, feedback_type="abuse"),
        replace(RECORD, source="x:3", action=None, status=None, date=None, detector=""),
        replace(RECORD, source="x:4", action=None, status=None, date=None, detector=""),
    ]
    ids = [(None, None), (None, None), (None, None), (None, None), (None, None)]
    at = "2026-11-28T18:00:00+00:00"
    events = [
        (at, "bounce", "a@b.example", None, None, json.dumps({"status": None})),
        (at, "bounce", "c@d.example", None, None, "{}"),
        (at, "suppress", "c@d.example", None, None, json.dumps({"reason": "x"})),
    ]
    one, together = Store(tmp_path / "one.db"), Store(tmp_path / "together.db")
    with one.transaction():
        for record, (campaign_id, delivery_id) in zip(records, ids, strict=True):
            assert bounce_store.insert_bounce(
                one,
                record,
                source_key=record.source,
                campaign_id=campaign_id,
                delivery_id=delivery_id,
                recorded_at=at,
            )
        for row in events:
            one.conn.execute(
                "INSERT INTO events (at, type, address, campaign_id, delivery_id, data_json)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                row,
            )
    with together.transaction():
        rows = [
            bounce_rows.bounce_row(
                record,
                source_key=record.source,
                recipient="lea@sfr.fr",
                campaign_id=None,
                delivery_id=None,
                recorded_at=at,
            )
            for record in records
        ]
        bounce_rows.add_bounces(together, rows)
        bounce_rows.add_events(together, events)
    for table in ("bounces", "events"):
        assert _rows(together, table) == _rows(one, table)
    with together.transaction():
        assert bounce_rows.stored_bounce_keys(together, ["x:1", "x:9", RECORD.source]) == {
            ("x:1", "lea@sfr.fr"),
            (RECORD.source, "lea@sfr.fr"),
        }
        # record_event after rows added together: ids go on in order
        record_event(together.conn, "later", address="e@f.example")
    assert [row[2] for row in _rows(together, "events")] == [
        "bounce",
        "bounce",
        "suppress",
        "later",
    ]
    one.close()
    together.close()


def _dsn(recipient: str, status: str, text: str, day: int, message_id: str) -> bytes:
    original = (
        f"From: Club <news@asso.example>\r\nTo: {recipient}\r\nSubject: Nouvelles\r\n"
        f"Message-ID: <orig.{recipient}@asso.example>\r\n\r\nBonjour\r\n"
    )
    data = make_dsn(
        original=original.encode(),
        recipient=recipient,
        status=status,
        diagnostic=text,
        remote_mta="mx.provider.example",
        reporting_mta="relay.asso.example",
        action="failed",
        date=NOW + timedelta(days=day),
    )
    # A fixed Message-ID: the same bounce delivered twice is one bounce (its source_key).
    return data.replace(b"Message-ID: <", f"Message-ID: <{message_id}.".encode(), 1)


def test_one_batch_stores_what_one_batch_per_message_stores(tmp_path: Path) -> None:
    """No campaign to correlate with (a first parse): bounce rows and events wait and are
    written together, flushed before each suppression; a message seen twice in the batch
    is stored once. Same rows, same order as one message per batch."""
    maildir = tmp_path / "Maildir"
    for address, day, status, text, mid in [
        ("lea@sfr.fr", 0, "4.2.2", "452 4.2.2 Mailbox full", "m1"),
        ("jean@orange.fr", 1, "5.1.1", "550 5.1.1 unknown", "m2"),
        ("lea@sfr.fr", 8, "4.2.2", "452 4.2.2 Mailbox full", "m3"),
        ("jean@orange.fr", 1, "5.1.1", "550 5.1.1 unknown", "m2"),
        ("marie@free.fr", 3, "4.2.2", "452 4.2.2 Mailbox full", "m4"),
        ("lea@sfr.fr", 16, "4.2.2", "452 4.2.2 Mailbox full", "m5"),
        ("paul@laposte.net", 4, "5.1.1", "550 5.1.1 unknown", "m6"),
    ]:
        deliver_to_maildir(maildir, _dsn(address, status, text, day, mid))
    found = []
    for batch_size in (1, 500):
        db = tmp_path / f"batch{batch_size}.db"
        settings = ParseSettings(
            batch_size=batch_size, policy=SuppressionPolicy(3, timedelta(days=15))
        )
        run = parse_bounces([str(maildir)], db=db, settings=settings)
        records = [record.to_dict() for record in run]
        with Store(db) as store:
            tables = [
                store.conn.execute(sql).fetchall()
                for sql in (
                    "SELECT source_key, source, recipient, campaign_id, delivery_id, message_id,"
                    " action, status, replycode, reason, kind, hardbounce, party, diagnostic,"
                    " remote_mta, reporting_mta, feedback_type, date, original_message_id,"
                    " detector FROM bounces ORDER BY id",
                    "SELECT type, address, campaign_id, delivery_id, data_json FROM events"
                    " ORDER BY id",
                    "SELECT address, cause, reason, detail FROM suppressions ORDER BY address",
                )
            ]
        summary = run.summary
        counts = (summary.stored, summary.already_stored, summary.suppressed)
        found.append((records, counts, [list(map(tuple, t)) for t in tables]))
    assert found[0] == found[1]
    records, (stored, known, suppressed), (bounces, events, _) = found[1]
    assert (len(records), stored, known, len(bounces)) == (7, 6, 1, 6)
    assert [address for address, _ in suppressed] == [
        "jean@orange.fr",
        "lea@sfr.fr",
        "paul@laposte.net",
    ]
    assert [(kind, address) for kind, address, *_ in events] == [
        ("bounce", "lea@sfr.fr"),
        ("bounce", "jean@orange.fr"),
        ("suppress", "jean@orange.fr"),
        ("bounce", "lea@sfr.fr"),
        ("bounce", "marie@free.fr"),
        ("bounce", "lea@sfr.fr"),
        ("suppress", "lea@sfr.fr"),
        ("bounce", "paul@laposte.net"),
        ("suppress", "paul@laposte.net"),
    ]


def test_a_bounce_events_data_is_the_json_of_its_dict() -> None:
    from mailbounce.recording import _event_data

    odd = 'Léa "boîte" \\ pleine\n\t\u2028 #1'
    for record in (
        RECORD,
        replace(RECORD, status=None, source=odd),
        replace(RECORD, status=odd, reason=Reason.USERUNKNOWN, kind=Kind.PERMANENT),
    ):
        data = {
            "reason": str(record.reason),
            "kind": str(record.kind),
            "status": record.status,
            "source": record.source,
        }
        assert _event_data(record) == json.dumps(data)
