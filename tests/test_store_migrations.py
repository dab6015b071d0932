from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from mailbounce.errors import StoreError
from mailbounce.store import Store
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
