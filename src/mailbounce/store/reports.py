"""The SQL of campaign reports: figures read from counters, rejected rows from an index.

Each delivery has exactly one report *outcome* (the generated column ``deliveries.outcome``,
see ``store/report_schema.py``), so the totals always add up to the number of recipients. A
delivery's own state and classification come from the send run; bounce mail received later
can turn a ``sent`` delivery into a rejection or a complaint, and triggers copy the bounce
that decides it into the delivery. The figures are sums over ``campaign_counts``, kept by
triggers in the writers' transactions: a report never scans a campaign's deliveries.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from mailbounce.store.db import Store
from mailbounce.store.report_schema import REJECTED_SQL, REJECTIONS, REJECTIONS_SQL

REJECTION_OUTCOMES = REJECTIONS


@dataclass(frozen=True, slots=True)
class CampaignInfo:
    id: int
    name: str
    subject: str | None
    from_addr: str | None
    created_at: str
    last_run_at: str | None


def find_campaign(store: Store, name: str | None) -> CampaignInfo | None:
    """The campaign called ``name``; the most recently created one when ``name`` is None."""
    columns = "id, name, subject, from_addr, created_at, last_run_at"
    if name is None:
        row = store.conn.execute(
            f"SELECT {columns} FROM campaigns ORDER BY created_at DESC, id DESC LIMIT 1"
        ).fetchone()
    else:
        row = store.conn.execute(
            f"SELECT {columns} FROM campaigns WHERE name = ?", (name,)
        ).fetchone()
    return CampaignInfo(*row) if row is not None else None


def campaign_names(store: Store) -> list[str]:
    return [row[0] for row in store.conn.execute("SELECT name FROM campaigns ORDER BY id")]


def outcome_counts(store: Store, campaign_id: int) -> dict[str, int]:
    """How many recipients of the campaign ended in each outcome.

    List rows without an address have no delivery: they count from ``campaign_lists``.
    """
    rows = store.conn.execute(
        "SELECT outcome, SUM(n) FROM campaign_counts WHERE campaign_id = ? GROUP BY outcome",
        (campaign_id,),
    )
    counts = {outcome: int(count) for outcome, count in rows if count}
    row = store.conn.execute(
        "SELECT SUM(without_address) FROM campaign_lists WHERE campaign_id = ?", (campaign_id,)
    ).fetchone()
    if row[0]:
        counts["skipped_no_address"] = counts.get("skipped_no_address", 0) + int(row[0])
    return counts


def reason_counts(store: Store, campaign_id: int) -> list[dict[str, Any]]:
    """Rejections grouped by reason and kind, most frequent first."""
    rows = store.conn.execute(
        "SELECT reason, kind, MAX(NULLIF(party, '')) AS party, SUM(n) AS count"
        f" FROM campaign_counts WHERE campaign_id = ? AND outcome IN {REJECTIONS_SQL}"
        " GROUP BY reason, kind HAVING count > 0 ORDER BY count DESC, reason",
        (campaign_id,),
    )
    return [dict(row) for row in rows]


def domain_counts(store: Store, campaign_id: int) -> list[dict[str, Any]]:
    """Per recipient domain: recipients tried, rejections, greylisting and throttling seen.

    Greylisting and throttling are usually resolved by a retry, so they count when the last
    reply says so or when a ``send.deferred`` event did (``deliveries.deferrals_seen``).
    """
    rows = store.conn.execute(
        "SELECT domain, SUM(n * (substr(outcome, 1, 8) != 'skipped_')) AS recipients,"
        f" SUM(n * (outcome IN {REJECTIONS_SQL})) AS rejected,"
        " SUM(n * greylisted) AS greylisted, SUM(n * throttled) AS throttled"
        " FROM campaign_counts WHERE campaign_id = ? GROUP BY domain",
        (campaign_id,),
    )
    domains = [dict(row) for row in rows]
    return sorted(domains, key=lambda d: (-d["rejected"], -d["recipients"], d["domain"]))


# A rejection is described by the bounce of its own kind when there is one (the stored
# ``report_*`` columns and ``bounce_id`` say which), else by the delivery's own reply.
_REJECTED = f"""
SELECT d.address, d.outcome, d.report_reason AS reason, d.report_kind AS kind,
       d.report_party AS party, COALESCE(b.status, d.status) AS status,
       COALESCE(b.diagnostic, d.last_reply, '') AS diagnostic, d.report_date AS date
FROM deliveries d LEFT JOIN bounces b ON b.id = d.bounce_id AND d.bounce_kind IS d.outcome
WHERE d.campaign_id = :campaign AND {REJECTED_SQL.replace("outcome", "d.outcome")}
ORDER BY d.report_date DESC, d.id DESC
"""


def iter_rejections(
    store: Store, campaign_id: int, limit: int | None = None
) -> Iterator[dict[str, Any]]:
    """The rejected recipients with reason and date, most recent first, streamed.

    Read through the partial index ``deliveries_rejected``: the first ``limit`` rows cost
    the same for a campaign of a hundred or of a million.
    """
    params = {"campaign": campaign_id, "limit": -1 if limit is None else limit}
    for row in store.conn.execute(_REJECTED + " LIMIT :limit", params):
        yield dict(row)
