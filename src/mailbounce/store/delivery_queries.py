"""Read-only queries on a campaign's deliveries: counts by state and reason, outcome rows."""

from __future__ import annotations

from collections.abc import Iterable
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
    """The per-recipient outcome rows of the given deliveries, in delivery order."""
    wanted = sorted(set(delivery_ids))
    result: list[dict[str, Any]] = []
    for start in range(0, len(wanted), 500):
        chunk = wanted[start : start + 500]
        marks = ", ".join("?" for _ in chunk)
        rows = store.conn.execute(
            f"SELECT {', '.join(OUTCOME_COLUMNS)} FROM deliveries"
            f" WHERE campaign_id = ? AND id IN ({marks}) ORDER BY id",
            (campaign_id, *chunk),
        )
        result.extend(dict(row) for row in rows)
    return result


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
