"""The deliveries state machine, campaign rows and list import on real SQLite."""

from __future__ import annotations

import sqlite3
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from mailbounce.errors import StoreError
from mailbounce.models import DeliveryState, SuppressionCause
from mailbounce.store import Store, delivery_queries
from mailbounce.store import campaigns as campaign_rows
from mailbounce.store import sending as st
from mailbounce.store.contacts import suppress, suppression_of
from mailbounce.store.lists import import_list
from mailbounce.store.writer import CHECKPOINT_EVERY, Committer

NOW = "2026-11-20T10:00:00+00:00"
LATER = "2026-11-20T10:10:00+00:00"


@dataclass(frozen=True)
class Row:
    line: int
    address: str | None
    raw_address: str
    first_name: str | None = None
    last_name: str | None = None
    fields: dict[str, str] = field(default_factory=dict)
    problem: str | None = None
    duplicate_of: int | None = None


def rows() -> list[Row]:
    return [
        Row(2, "ann@example.org", "Ann@example.org", "Ann", fields={"first_name": "Ann"}),
        Row(3, None, "", "Bob", "Martin"),
        Row(4, None, "jean.dupont", problem="missing @"),
        Row(5, "ann@example.org", "ann@example.org", duplicate_of=2),
        Row(6, "cid@example.org", "cid@example.org"),
        Row(7, "gone@example.org", "gone@example.org"),
    ]


@pytest.fixture
def store(db_path: Path) -> Store:
    return Store(db_path)


def setup_campaign(store: Store, tmp_path: Path) -> tuple[int, int]:
    imported = import_list(store, tmp_path / "members.csv", rows())
    campaign = campaign_rows.save_campaign(
        store, "nov", subject="S", from_addr="a@b.example", settings={}
    )
    campaign_rows.add_list_recipients(store, campaign.id, imported.list_id)
    return campaign.id, imported.list_id


def test_import_list_parts(store: Store, tmp_path: Path) -> None:
    imported = import_list(store, tmp_path / "members.csv", rows())
    assert (imported.members, imported.without_address, imported.invalid, imported.duplicates) == (
        4,
        1,
        1,
        1,
    )
    assert imported.name == "members"
    invalid = suppression_of(store, "jean.dupont")
    assert invalid is not None and invalid.cause is SuppressionCause.INVALID
    # Re-import replaces membership, adds nothing twice, and does not re-suppress.
    again = import_list(store, tmp_path / "members.csv", rows())
    assert again.list_id == imported.list_id and again.newly_invalid == 0
    count = store.conn.execute("SELECT COUNT(*) FROM list_members").fetchone()[0]
    assert count == 5


def test_failed_import_leaves_previous_intact(store: Store, tmp_path: Path) -> None:
    import_list(store, tmp_path / "members.csv", rows())

    def broken() -> object:
        yield rows()[0]
        raise ValueError("undecodable byte")

    with pytest.raises(ValueError):
        import_list(store, tmp_path / "members.csv", broken())  # type: ignore[arg-type]
    count = store.conn.execute("SELECT COUNT(*) FROM list_members").fetchone()[0]
    assert count == 5


def test_skip_suppressed_counts_by_cause(store: Store, tmp_path: Path) -> None:
    campaign_id, _ = setup_campaign(store, tmp_path)
    with store.transaction() as conn:
        suppress(conn, "gone@example.org", SuppressionCause.UNSUBSCRIBED)
    assert campaign_rows.skip_suppressed(store, campaign_id) == {"invalid": 1, "unsubscribed": 1}
    assert delivery_queries.state_counts(store, campaign_id) == {"pending": 2, "skipped": 2}


def test_claim_then_transitions(store: Store, tmp_path: Path) -> None:
    campaign_id, _ = setup_campaign(store, tmp_path)
    campaign_rows.skip_suppressed(store, campaign_id)
    claimed = st.claim_due(store, campaign_id, worker="w1", now=NOW, limit=10)
    assert [d.address for d in claimed] == [
        "ann@example.org",
        "cid@example.org",
        "gone@example.org",
    ]
    assert st.claim_due(store, campaign_id, worker="w2", now=NOW, limit=10) == []
    ann, cid, gone = claimed
    st.mark_in_flight(store, ann.id, token="t", message_id="<m@x>", now=NOW)
    st.record_outcome(
        store, ann, st.Outcome(DeliveryState.SENT, reply="250 ok"), now=NOW, counted_in_flight=True
    )
    st.record_outcome(
        store,
        cid,
        st.Outcome(DeliveryState.DEFERRED, next_attempt_at=LATER),
        now=NOW,
        counted_in_flight=False,
    )
    # A sent delivery cannot be claimed, deferred or sent again.
    with pytest.raises(StoreError, match="cannot move to 'in_flight'"):
        st.mark_in_flight(store, ann.id, token="t", message_id="<m@x>", now=NOW)
    st.release_claims(store, [gone.id])
    assert [d.address for d in st.claim_due(store, campaign_id, worker="w", now=NOW, limit=9)] == [
        "gone@example.org"
    ]
    due = st.claim_due(store, campaign_id, worker="w", now=LATER, limit=9)
    assert [(d.address, d.attempts) for d in due] == [("cid@example.org", 1)]


def test_outcome_events_all_but_sent(store: Store, tmp_path: Path) -> None:
    """A deferral (read by the report's ``deferrals_seen``) and a failure keep their event;
    an accepted message is recorded by its delivery row alone (state, reply, times)."""
    campaign_id, _ = setup_campaign(store, tmp_path)
    campaign_rows.skip_suppressed(store, campaign_id)
    ann, cid, gone = st.claim_due(store, campaign_id, worker="w", now=NOW, limit=10)
    flying = [st.InFlight(d.id, None, f"<{d.id}@x>") for d in (ann, cid, gone)]
    st.record_steps(store, flying, [], now=NOW)
    greylisted = st.Outcome(
        DeliveryState.DEFERRED, reply="451 4.7.1 greylisted", next_attempt_at=LATER
    )
    concluded = [
        st.Concluded(ann, st.Outcome(DeliveryState.SENT, reply="250 ok"), True),
        st.Concluded(cid, greylisted, True),
        st.Concluded(gone, st.Outcome(DeliveryState.FAILED, reply="554 no"), True),
    ]
    st.record_steps(store, [], concluded, now=LATER)
    events = store.conn.execute(
        "SELECT type, address, delivery_id, data_json FROM events WHERE type LIKE 'send.%'"
        " ORDER BY id"
    ).fetchall()
    assert [tuple(row) for row in events] == [
        ("send.deferred", cid.address, cid.id, '{"reply": "451 4.7.1 greylisted", "reason": null}'),
        ("send.failed", gone.address, gone.id, '{"reply": "554 no", "reason": null}'),
    ]
    row = store.conn.execute(
        "SELECT state, last_reply, attempts, last_attempt_at, updated_at FROM deliveries"
        " WHERE id = ?",
        (ann.id,),
    ).fetchone()
    assert tuple(row) == ("sent", "250 ok", 1, NOW, LATER)


def test_recover_interrupted(store: Store, tmp_path: Path) -> None:
    campaign_id, _ = setup_campaign(store, tmp_path)
    campaign_rows.skip_suppressed(store, campaign_id)
    ann, _cid, _gone = st.claim_due(store, campaign_id, worker="w", now=NOW, limit=10)
    st.mark_in_flight(store, ann.id, token=None, message_id="<m@x>", now=NOW)
    recovery = st.recover_interrupted(store, campaign_id)
    assert (recovery.released, recovery.uncertain) == (2, 1)
    assert delivery_queries.state_counts(store, campaign_id) == {
        "pending": 2,
        "skipped": 1,
        "uncertain": 1,
    }
    claimed = st.claim_due(store, campaign_id, worker="w", now=NOW, limit=10)
    assert ann.id not in [d.id for d in claimed]  # uncertain is never claimed
    st.release_claims(store, [d.id for d in claimed])
    assert st.requeue_uncertain(store, campaign_id) == 1


def test_hard_bounce_suppresses_in_same_transaction(store: Store, tmp_path: Path) -> None:
    from mailbounce.classify import classify_smtp_reply

    campaign_id, _ = setup_campaign(store, tmp_path)
    campaign_rows.skip_suppressed(store, campaign_id)
    ann = st.claim_due(store, campaign_id, worker="w", now=NOW, limit=1)[0]
    cls = classify_smtp_reply(550, "5.1.1 User unknown")
    outcome = st.Outcome(
        DeliveryState.FAILED,
        reply="550 5.1.1 User unknown",
        replycode="550",
        status="5.1.1",
        classification=cls,
        suppress_as=SuppressionCause.INVALID,
    )
    st.record_outcome(store, ann, outcome, now=NOW, counted_in_flight=False)
    found = suppression_of(store, "ann@example.org")
    assert found is not None and found.reason == "userunknown"
    assert delivery_queries.grouped_counts(store, campaign_id, DeliveryState.FAILED, "reason") == {
        "userunknown": 1
    }


def test_commit_thread_checkpoints_beside_the_commits(store: Store, tmp_path: Path) -> None:
    """The WAL is copied into the database file by the checkpoint thread, not inside a
    commit (the committing connection's own automatic checkpoint is far off)."""
    campaign_id, _ = setup_campaign(store, tmp_path)
    store.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    commits = CHECKPOINT_EVERY * 2
    with Committer(store.path) as writer:
        assert writer.store.conn.execute("PRAGMA wal_autocheckpoint").fetchone()[0] > 1000
        for number in range(commits):
            writer.submit(
                lambda s, n=number: s.conn.execute(
                    "UPDATE campaigns SET last_run_at = ? WHERE id = ?", (str(n), campaign_id)
                )
            )
            writer.collect()
        deadline = time.monotonic() + 30
        while _in_database_file(store.path) != str(commits - 1):
            assert time.monotonic() < deadline, "no checkpoint after the last request"
            time.sleep(0.02)
        assert writer.checkpoints.done >= 1


def _in_database_file(path: Path) -> str | None:
    """The campaign's ``last_run_at`` in the database file itself, the WAL ignored."""
    conn = sqlite3.connect(f"file:{path}?immutable=1", uri=True)
    try:
        return conn.execute("SELECT last_run_at FROM campaigns").fetchone()[0]
    except sqlite3.DatabaseError:  # read while a checkpoint writes: try again
        return None
    finally:
        conn.close()


@pytest.mark.parametrize(
    ("spread", "others"),
    [(1, 3), (2, 3), (7, 3), (1, 0)],
    ids=["consecutive", "gaps", "scattered", "whole"],
)
def test_outcome_rows_of_a_run(store: Store, tmp_path: Path, spread: int, others: int) -> None:
    """The run's recipients only (not the campaign's others, not another campaign's), in
    delivery order, read by id range (consecutive ids, every id of the range or not) or by
    id lists (scattered)."""
    addresses = [f"p{n}@example.org" for n in range(60)]
    imported = import_list(
        store, tmp_path / "m.csv", [Row(n + 2, a, a) for n, a in enumerate(addresses)]
    )
    ids: dict[str, list[int]] = {}
    for name in ("nov", "dec"):
        campaign = campaign_rows.save_campaign(
            store, name, subject="S", from_addr="a@b.example", settings={}
        )
        campaign_rows.add_list_recipients(store, campaign.id, imported.list_id)
        ids[name] = [d.id for d in st.claim_due(store, campaign.id, worker="w", now=NOW, limit=99)]
    nov = campaign_rows.find_campaign(store, "nov")
    assert nov is not None
    touched = ids["nov"][::spread] + ids["dec"][:others]  # another campaign's are left out
    rows = delivery_queries.outcomes(store, nov.id, reversed(touched))
    assert [row["address"] for row in rows] == addresses[::spread]
    assert list(rows[0]) == list(delivery_queries.OUTCOME_COLUMNS)
    assert rows[0]["state"] == "claimed" and rows[0]["attempts"] == 0
    assert delivery_queries.outcomes(store, nov.id, []) == []


def test_commit_jobs_take_turns_across_processes(db_path: Path) -> None:
    # Several send processes order their commits on an flock of <db>.commits (writer.py): a
    # job runs holding it, so another process's job waits in the kernel (woken at once),
    # not in SQLite's sleeping busy handler; it is free again between jobs.
    import fcntl
    import os

    Store(db_path).close()
    seen: list[bool] = []

    def held_by_someone() -> bool:
        fd = os.open(f"{db_path}.commits", os.O_RDWR)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        finally:
            os.close(fd)
        return False

    with Committer(db_path) as writer:
        writer.submit(lambda store: seen.append(held_by_someone()))
        writer.collect()
        assert seen == [True]
        assert not held_by_someone()


def test_claimed_rows_carry_their_fields_each_decoded(store: Store, tmp_path: Path) -> None:
    # The claim decodes every row's fields_json in one go (store.claims): each row still
    # gets its own fields, an empty text none.
    campaign_id, _ = setup_campaign(store, tmp_path)
    texts = {
        "ann@example.org": '{"first_name": "Ann", "note": "a, [b] {c}"}',
        "cid@example.org": "",
        "gone@example.org": '{"first_name": "Zoé", "last_name": "\\"L\\u00e9a\\""}',
    }
    with store.transaction() as conn:
        for address, text in texts.items():
            conn.execute("UPDATE deliveries SET fields_json = ? WHERE address = ?", (text, address))
    claimed = st.claim_due(store, campaign_id, worker="w", now=NOW, limit=10)
    assert {d.address: d.fields for d in claimed if d.address in texts} == {
        "ann@example.org": {"first_name": "Ann", "note": "a, [b] {c}"},
        "cid@example.org": {},
        "gone@example.org": {"first_name": "Zoé", "last_name": '"Léa"'},
    }
    assert [d.id for d in claimed] == sorted(d.id for d in claimed)
