"""Read-only queries on a campaign's deliveries: counts by state and reason, outcome rows."""

from __future__ import annotations

from collections.abc import Iterable
from functools import partial
from typing import Any

from mailbounce.models import DeliveryState
from mailbounce.store.db import Store


def state_counts(store: Store, campaign_id: int) -> dict[str, int]:
    rows = store.conn.execute(
        "SELECT state, COUNT(*) FROM deliveries WHERE campaign_id = ? GROUP BY state",
        (campaign_id,),
    )
    return {row[0]: row[1] for row in rows}


def grouped_counts(
    store: Store, campaign_id: int, state: DeliveryState, column: str
) -> dict[str, int]:
    """Counts of ``state`` deliveries by ``reason`` or ``skip_cause``."""
    if column not in ("reason", "skip_cause"):
        raise ValueError(column)
    rows = store.conn.execute(
        f"SELECT COALESCE({column}, 'undefined'), COUNT(*) FROM deliveries"
        f" WHERE campaign_id = ? AND state = ? GROUP BY {column} ORDER BY 2 DESC",
        (campaign_id, str(state)),
    )
    return {row[0]: row[1] for row in rows}


def count_due_deferred(store: Store, campaign_id: int, now: str) -> int:
    row = store.conn.execute(
        "SELECT COUNT(*) FROM deliveries WHERE campaign_id = ? AND state = 'deferred'"
        " AND next_attempt_at <= ?",
        (campaign_id, now),
    ).fetchone()
    return int(row[0])


def next_due(store: Store, campaign_id: int) -> str | None:
    row = store.conn.execute(
        "SELECT MIN(next_attempt_at) FROM deliveries WHERE campaign_id = ? AND state = 'deferred'",
        (campaign_id,),
    ).fetchone()
    return row[0] if row else None


OUTCOME_COLUMNS = (
    "address",
    "state",
    "attempts",
    "replycode",
    "status",
    "reason",
    "kind",
    "party",
    "skip_cause",
    "next_attempt_at",
    "last_reply",
)


def outcomes(store: Store, campaign_id: int, delivery_ids: Iterable[int]) -> list[dict[str, Any]]:
    """The per-recipient outcome rows of the given deliveries, in delivery order.

    A run's recipients are mostly consecutive ids: they are read in one scan of their id
    range (``+campaign_id``: by rowid, not through the campaign's index) and the others
    left out here, as tuples, not ``sqlite3.Row``: 20,000 rows in about 0.1 s instead of
    0.3 s of 500-id ``IN`` lists (issue 2). Scattered ids are still read by lists.
    """
    wanted = sorted(set(delivery_ids))
    if not wanted:
        return []
    columns = ", ".join(OUTCOME_COLUMNS)
    if wanted[-1] - wanted[0] + 1 == len(wanted):
        # Every id of the range is wanted (a run's usual ids): no id to read nor to check.
        rows = _tuples(
            store,
            f"SELECT {columns} FROM deliveries"
            " WHERE id BETWEEN ? AND ? AND +campaign_id = ? ORDER BY id",
            (wanted[0], wanted[-1], campaign_id),
        )
        return list(map(dict, map(partial(zip, OUTCOME_COLUMNS), rows)))
    if wanted[-1] - wanted[0] < 2 * len(wanted):
        keep = set(wanted)
        rows = _tuples(
            store,
            f"SELECT id, {columns} FROM deliveries"
            " WHERE id BETWEEN ? AND ? AND +campaign_id = ? ORDER BY id",
            (wanted[0], wanted[-1], campaign_id),
        )
        return [dict(zip(OUTCOME_COLUMNS, row[1:], strict=True)) for row in rows if row[0] in keep]
    result: list[dict[str, Any]] = []
    for start in range(0, len(wanted), 500):
        chunk = wanted[start : start + 500]
        marks = ", ".join("?" for _ in chunk)
        rows = _tuples(
            store,
            f"SELECT {columns} FROM deliveries"
            f" WHERE campaign_id = ? AND id IN ({marks}) ORDER BY id",
            (campaign_id, *chunk),
        )
        result.extend(dict(zip(OUTCOME_COLUMNS, row, strict=True)) for row in rows)
    return result


def _tuples(store: Store, sql: str, parameters: tuple[Any, ...]) -> list[tuple[Any, ...]]:
    """All rows of a query as plain tuples (no ``sqlite3.Row`` per row)."""
    cursor = store.conn.cursor()
    cursor.row_factory = None
    try:
        return cursor.execute(sql, parameters).fetchall()
    finally:
        cursor.close()  # the statement ends here, even if Ctrl-C struck in fetchall()


def delivery_ids_in_states(
    store: Store, campaign_id: int, states: Iterable[DeliveryState]
) -> list[int]:
    names = [str(state) for state in states]
    marks = ", ".join("?" for _ in names)
    rows = store.conn.execute(
        f"SELECT id FROM deliveries WHERE campaign_id = ? AND state IN ({marks}) ORDER BY id",
        (campaign_id, *names),
    )
    return [row[0] for row in rows]
