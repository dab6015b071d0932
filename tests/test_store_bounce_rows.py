"""Long runs of bounce rows and events, inserted several rows per statement
(``store.bounce_rows``), store what one INSERT per row stores: same rows, order and ids."""

from __future__ import annotations

import json
from pathlib import Path

from mailbounce.store import Store, bounce_rows
from mailbounce.store.bounce_rows import BOUNCE_INSERT

AT = "2026-11-28T18:00:00+00:00"
EVENT_INSERT = (
    "INSERT INTO events (at, type, address, campaign_id, delivery_id, data_json)"
    " VALUES (?, ?, ?, ?, ?, ?)"
)


def _bounce(number: int) -> tuple[object, ...]:
    """A ``bounce_row``: runs of each shape (feedback type or not), longer and shorter
    than one multi-row INSERT, some optional columns None."""
    feedback = "abuse" if (number // 70) % 2 else None
    return (
        f"/var/mail/bounces:{number}",
        f"/var/mail/bounces:{number}",
        f"r{number}@example.org",
        None,
        None,
        None if number % 7 == 0 else f"<b{number}@relay.example>",
        "failed" if number % 3 else None,
        "5.1.1",
        "550",
        "userunknown",
        "permanent",
        1,
        "recipient",
        f"550 5.1.1 <r{number}@example.org>: unknown",
        "mx.example.org",
        None,
        feedback,
        None if number % 5 == 0 else "2026-11-20T10:00:00+00:00",
        f"<orig.{number}@asso.example>",
        "postfix",
        AT,
    )


def _event(number: int) -> tuple[object, ...]:
    kind = "suppress" if number % 11 == 0 else "bounce"
    return (AT, kind, f"r{number}@example.org", None, None, json.dumps({"n": number}))


def _rows(store: Store, table: str) -> list[tuple[object, ...]]:
    return [tuple(row) for row in store.conn.execute(f"SELECT * FROM {table} ORDER BY id")]


def test_long_runs_store_the_rows_of_one_insert_each(tmp_path: Path) -> None:
    bounces = [_bounce(number) for number in range(263)]
    events = [_event(number) for number in range(181)]
    one, together = Store(tmp_path / "one.db"), Store(tmp_path / "together.db")
    with one.transaction():
        for row in bounces:
            one.conn.execute(BOUNCE_INSERT, row)
        for row in events:
            one.conn.execute(EVENT_INSERT, row)
    with together.transaction():
        bounce_rows.add_bounces(together, bounces[:120])
        bounce_rows.add_events(together, events[:3])
        bounce_rows.add_bounces(together, bounces[120:])
        bounce_rows.add_events(together, events[3:])
    for table in ("bounces", "events"):
        assert _rows(together, table) == _rows(one, table)
    assert len(_rows(together, "bounces")) == 263
    one.close()
    together.close()


def test_no_statement_binds_more_values_than_old_sqlite_allows() -> None:
    """SQLite before 3.32 takes at most 999 values per statement."""
    for table in (bounce_rows._BOUNCES, bounce_rows._EVENTS):
        for shape in ((True,) * len(table.usually_null), (False,) * len(table.usually_null)):
            one, _, many, per_many = bounce_rows._insert_statement(table, shape)
            assert many.count("?") == per_many * one.count("?") <= 999
            assert per_many > 1
