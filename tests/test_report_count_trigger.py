"""m006: the report counters' update trigger is not fired by a change of ``state`` alone.

A claim of a pending recipient and a send's ``in_flight`` step move no counter (all three
states count as "pending"): they run no trigger program. The writers that move a delivery
into or out of an outcome still fire it (``tests/test_report_counters.py`` checks the
counters themselves over random histories of every writer).
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from mailbounce.store import Store, sending
from mailbounce.store import claims as claim_sql
from mailbounce.store.migrations import MIGRATIONS, migrate, schema_version


def _programs(conn: sqlite3.Connection, sql: str, params: tuple[object, ...]) -> int:
    """Trigger programs SQLite's program for ``sql`` runs (``Program`` opcodes)."""
    return sum(1 for row in conn.execute(f"EXPLAIN {sql}", params) if row[1] == "Program")


def _trigger_sql(conn: sqlite3.Connection) -> str:
    find = "SELECT sql FROM sqlite_master WHERE name = 'deliveries_count_update'"
    return str(conn.execute(find).fetchone()[0])


@pytest.mark.parametrize("applied", range(len(MIGRATIONS) + 1))
def test_every_store_gets_the_trigger_without_state(db_path: Path, applied: int) -> None:
    conn = sqlite3.connect(db_path, isolation_level=None)
    migrate(conn, MIGRATIONS[:applied])
    conn.close()
    with Store(db_path) as store:
        assert schema_version(store.conn) == len(MIGRATIONS)
        head = _trigger_sql(store.conn).split(" ON deliveries")[0]
        assert "AFTER UPDATE OF campaign_id, address, skip_cause, reason" in head
        assert "state" not in head


def test_send_steps_moving_no_counter_run_no_trigger(db_path: Path) -> None:
    with Store(db_path) as store:
        conn = store.conn
        in_flight = sending._shaped(sending._IN_FLIGHT_KEEPING_ID, 1, (False, False))
        assert _programs(conn, in_flight, ("now", 1, None)) == 0
        claim = (None, "now", "now", 1, 10)
        assert _programs(conn, claim_sql._CLAIM_PENDING, claim) == 0
        # These move a delivery to or from an outcome: the trigger must run.
        deferred = (None, "now", "now", 1, "now", 10)
        assert _programs(conn, claim_sql._CLAIM_DEFERRED, deferred) > 0
        sent = sending._shaped(sending._OUTCOME_SQL[sending.S.SENT, False], 1, (False,) * 10)
        assert _programs(conn, sent, ("now", *range(10))) > 0


def test_a_claimed_deferral_and_a_requeued_uncertain_are_counted(db_path: Path) -> None:
    with Store(db_path) as store:
        conn = store.conn
        conn.execute("INSERT INTO campaigns (name, created_at) VALUES ('c', 'now')")
        for number, state in enumerate(("deferred", "uncertain")):
            conn.execute(
                "INSERT INTO deliveries (campaign_id, address, state, reason, updated_at,"
                " next_attempt_at) VALUES (1, ?, ?, 'greylisted', 'now', 'now')",
                (f"p{number}@x.org", state),
            )
        claimed = sending.claim_due(store, 1, worker="w", now="now", limit=10)
        assert [d.address for d in claimed] == ["p0@x.org"]
        assert sending.requeue_uncertain(store, 1) == 1
        counts = dict(
            conn.execute("SELECT outcome, SUM(n) FROM campaign_counts GROUP BY 1 HAVING SUM(n)")
        )
        assert counts == {"pending": 2}
