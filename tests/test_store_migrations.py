from __future__ import annotations

import re
import sqlite3
from pathlib import Path

import pytest

from mailbounce.errors import StoreError
from mailbounce.store import Store
from mailbounce.store.db import WAL_AUTOCHECKPOINT_PAGES
from mailbounce.store.migrations import MIGRATIONS, migrate, schema_version


def _tables(conn: sqlite3.Connection) -> set[str]:
    return {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}


def test_blank_database_gets_every_migration(db_path: Path) -> None:
    with Store(db_path) as store:
        assert schema_version(store.conn) == len(MIGRATIONS)
        assert {"campaigns", "deliveries", "suppressions", "events", "bounces"} <= _tables(
            store.conn
        )
        assert store.conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert store.conn.execute("PRAGMA synchronous").fetchone()[0] == 1  # NORMAL
        assert store.conn.execute("PRAGMA wal_autocheckpoint").fetchone()[0] == (
            WAL_AUTOCHECKPOINT_PAGES
        )


@pytest.mark.parametrize("applied", range(len(MIGRATIONS) + 1))
def test_upgrade_from_each_earlier_schema(db_path: Path, applied: int) -> None:
    conn = sqlite3.connect(db_path, isolation_level=None)
    migrate(conn, MIGRATIONS[:applied])
    assert schema_version(conn) == applied
    conn.close()
    with Store(db_path) as store:
        assert schema_version(store.conn) == len(MIGRATIONS)


def test_reopening_is_idempotent(db_path: Path) -> None:
    Store(db_path).close()
    with Store(db_path) as store:
        assert schema_version(store.conn) == len(MIGRATIONS)


def test_newer_database_is_refused(db_path: Path) -> None:
    conn = sqlite3.connect(db_path)
    conn.execute(f"PRAGMA user_version = {len(MIGRATIONS) + 1}")
    conn.close()
    with pytest.raises(StoreError, match="newer"):
        Store(db_path)


def test_events_are_append_only(db_path: Path) -> None:
    with Store(db_path) as store:
        store.conn.execute("INSERT INTO events (at, type) VALUES ('x', 'test')")
        with pytest.raises(sqlite3.DatabaseError, match="append-only"):
            store.conn.execute("UPDATE events SET type = 'other'")


def test_failed_migration_rolls_back(db_path: Path) -> None:
    def broken(conn: sqlite3.Connection) -> None:
        conn.execute("CREATE TABLE half (x)")
        raise RuntimeError("boom")

    conn = sqlite3.connect(db_path, isolation_level=None)
    with pytest.raises(RuntimeError):
        migrate(conn, (*MIGRATIONS, broken))
    assert schema_version(conn) == len(MIGRATIONS)
    assert "half" not in _tables(conn)


def _deliveries_sql(conn: sqlite3.Connection) -> str:
    find = "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'deliveries'"
    return str(conn.execute(find).fetchone()[0])


def _report_values(conn: sqlite3.Connection) -> list[tuple[object, ...]]:
    rows = conn.execute(
        "SELECT id, outcome, report_reason, report_kind, report_party, report_date"
        " FROM deliveries ORDER BY id"
    )
    return [tuple(row) for row in rows]


def test_report_columns_lose_their_in_lists_keeping_their_values(db_path: Path) -> None:
    """m003 edits the generated columns' text only: a store filled at version 2 keeps its
    values, and recomputing them (an UPDATE of every row) gives the same again."""
    conn = sqlite3.connect(db_path, isolation_level=None)
    migrate(conn, MIGRATIONS[:2])
    assert " IN ('pending', 'claimed', 'in_flight')" in _deliveries_sql(conn)
    conn.execute("INSERT INTO campaigns (name, created_at) VALUES ('c', 'now');")
    states = ["pending", "claimed", "in_flight", "sent", "failed", "deferred", "expired"]
    states += ["uncertain", "skipped"]
    for number, state in enumerate(states):
        for kind in (None, "permanent", "temporary", "complaint"):
            conn.execute(
                "INSERT INTO deliveries (campaign_id, address, state, kind, reason,"
                " updated_at) VALUES (1, ?, ?, ?, 'r', 'now')",
                (f"p{number}-{kind}@x.org", state, kind),
            )
    before = _report_values(conn)
    conn.close()
    with Store(db_path) as store:
        assert schema_version(store.conn) == len(MIGRATIONS)
        upgraded = _deliveries_sql(store.conn)
        assert "IN ('pending', 'claimed', 'in_flight')" not in upgraded
        assert "IN ('permanent', 'temporary', 'complaint')" not in upgraded
        assert store.conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert _report_values(store.conn) == before
        store.conn.execute("UPDATE deliveries SET state = state, kind = kind")
        assert _report_values(store.conn) == before
        # Run again (another process may have upgraded first): nothing changes.
        sql = _deliveries_sql(store.conn)
        MIGRATIONS[2](store.conn)
        assert _deliveries_sql(store.conn) == sql


def _temporary_tables(conn: sqlite3.Connection) -> int:
    """Temporary b-trees SQLite's program for a delivery's UPDATE opens (IN lists)."""
    program = conn.execute("EXPLAIN UPDATE deliveries SET state = 'claimed' WHERE id = 1")
    return sum(1 for row in program if row[1] == "OpenEphemeral")


def test_the_upgrading_connection_uses_the_new_columns_at_once(db_path: Path) -> None:
    """The connection that ran m003 computes the columns as a later one does, not with the
    expressions it had parsed before the schema edit (fewer temporary b-trees than m002's)."""
    conn = sqlite3.connect(db_path, isolation_level=None)
    migrate(conn, MIGRATIONS[:2])
    before = _temporary_tables(conn)
    conn.close()
    with Store(db_path) as upgrading:
        at_once = _temporary_tables(upgrading.conn)
    with Store(db_path) as later:
        assert at_once == _temporary_tables(later.conn) < before


def test_rejections_are_read_through_the_partial_index(db_path: Path) -> None:
    # SQLite uses a partial index only when the query's WHERE holds the index's condition
    # term for term (m004 respelt both): a report's rejected list must not scan deliveries.
    from mailbounce.store.reports import _REJECTED

    with Store(db_path) as store:
        plan = " ".join(
            row[3] for row in store.conn.execute(f"EXPLAIN QUERY PLAN {_REJECTED}", {"campaign": 1})
        )
    assert "USING INDEX deliveries_rejected" in plan, plan
    assert "SCAN d" not in plan, plan


def test_no_in_list_left_in_the_delivery_and_bounce_write_paths(db_path: Path) -> None:
    # ``x IN ('a', 'b', 'c')`` costs a temporary b-tree at each evaluation (m003, m004; two
    # constants do not): none may be left in what a send step or a recorded bounce
    # evaluates per row.
    with Store(db_path) as store:
        sql = [
            row[0]
            for row in store.conn.execute(
                "SELECT sql FROM sqlite_master WHERE name IN ('deliveries', 'deliveries_rejected',"
                " 'bounces_report_insert', 'bounces_report_delete', 'bounces_report_update',"
                " 'deliveries_count_update')"
            )
        ]
    assert len(sql) == 6
    for text in sql:
        assert not re.search(r"IN \(\s*'[^']*'(\s*,\s*'[^']*'){2,}\s*\)", text), text


def _plan(store: Store, sql: str, values: tuple[object, ...]) -> str:
    return " ".join(row[3] for row in store.conn.execute(f"EXPLAIN QUERY PLAN {sql}", values))


def test_soft_histories_are_read_from_the_soft_bounce_index_alone(db_path: Path) -> None:
    # m005: the history queries spell the partial index's condition term for term, so SQLite
    # reads them from ``bounces_soft`` without reading each bounce row of the address.
    from mailbounce.store.bounces import _SOFT_WHERE

    one = f"SELECT COALESCE(date, recorded_at) FROM bounces WHERE recipient = ? AND {_SOFT_WHERE}"
    many = (
        "SELECT recipient, COALESCE(date, recorded_at) FROM bounces"
        f" WHERE recipient IN (?, ?) AND {_SOFT_WHERE} ORDER BY 2"
    )
    with Store(db_path) as store:
        for sql, values in ((one, ("a@x.example",)), (many, ("a@x.example", "b@x.example"))):
            assert "USING COVERING INDEX bounces_soft" in _plan(store, sql, values)


def test_campaign_and_delivery_indexes_leave_out_rows_without_one(db_path: Path) -> None:
    # m005: a parsed bounce that answers no delivery writes no entry in these indexes, and
    # the look-ups by campaign or delivery still use them (``= ?`` is never NULL).
    with Store(db_path) as store:
        for name, column in (
            ("bounces_campaign", "campaign_id"),
            ("bounces_delivery", "delivery_id"),
            ("events_campaign", "campaign_id"),
        ):
            (sql,) = store.conn.execute(
                "SELECT sql FROM sqlite_master WHERE name = ?", (name,)
            ).fetchone()
            assert sql.endswith(f"WHERE {column} IS NOT NULL"), sql
        for sql, index in (
            ("SELECT id FROM bounces WHERE campaign_id = ?", "bounces_campaign"),
            ("SELECT id FROM bounces WHERE delivery_id = ?", "bounces_delivery"),
            ("SELECT id FROM events WHERE campaign_id = ? AND type = 'x'", "events_campaign"),
        ):
            assert f"INDEX {index}" in _plan(store, sql, (1,)), sql
