"""The SQL of campaign reports: every figure aggregated in SQLite (GROUP BY), rows streamed.

Each delivery gets exactly one *outcome* (``_outcome``), so the totals always add up to
the number of recipients. A delivery's own state and classification come from the send run;
bounce mail received later (table ``bounces``) can turn a ``sent`` delivery into a
rejection or a complaint, so the outcome looks at both.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from mailbounce.store.db import Store

# The bounces of one campaign, one row per delivery. Bounces are tied to deliveries by
# ``delivery_id`` (the correlation step resolves token, Message-ID or address to a delivery).
_BOUNCED = """
bounced AS (
    SELECT delivery_id AS delivery, MAX(kind = 'complaint') AS complaint,
           MAX(kind = 'permanent') AS permanent, MAX(kind = 'temporary') AS temporary
    FROM bounces WHERE campaign_id = :campaign AND delivery_id IS NOT NULL
    GROUP BY delivery_id
)
"""


def _outcome(complaint: str, permanent: str, temporary: str) -> str:
    """One outcome per delivery (alias ``d``), first match wins, given its bounce flags.

    Order matters: a skipped or unsent row has no result yet; a complaint outranks any
    rejection; a bounce proves an "uncertain" mail left.
    """
    return f"""CASE
    WHEN d.state = 'skipped' THEN 'skipped_' || COALESCE(d.skip_cause, 'manual')
    WHEN d.state IN ('pending', 'claimed', 'in_flight') THEN 'pending'
    WHEN d.kind = 'complaint' OR {complaint} THEN 'complaint'
    WHEN (d.state IN ('failed', 'sent') AND d.kind = 'permanent') OR {permanent}
        THEN 'permanent'
    WHEN d.state = 'uncertain' THEN 'uncertain'
    WHEN d.state = 'deferred' THEN 'deferred'
    WHEN d.state IN ('failed', 'expired') OR {temporary} THEN 'temporary'
    ELSE 'accepted'
END"""


# A million deliveries are aggregated without touching their bounces (flags 0: an index-only
# scan), then the few bounced ones are moved from their outcome without bounces to their
# outcome with them: the join is driven from the bounces (CROSS JOIN fixes the order).
OUTCOME_WITHOUT_BOUNCES = _outcome("0", "0", "0")
OUTCOME_WITH_BOUNCES = _outcome("b.complaint", "b.permanent", "b.temporary")


def _flag(kind: str) -> str:
    return f"EXISTS (SELECT 1 FROM bounces x WHERE x.delivery_id = d.id AND x.kind = '{kind}')"


OUTCOME_LOOKED_UP = _outcome(_flag("complaint"), _flag("permanent"), _flag("temporary"))
REJECTION_OUTCOMES = ("permanent", "temporary", "complaint")
_REJECTED_SQL = "('permanent', 'temporary', 'complaint')"

_MOVES = f"""
WITH {_BOUNCED}
SELECT {OUTCOME_WITHOUT_BOUNCES} AS before, {OUTCOME_WITH_BOUNCES} AS after, {{extra}}
FROM bounced b CROSS JOIN deliveries d ON d.id = b.delivery
"""

# Rejected deliveries: those rejected by their own state, plus every bounced one; each then
# classified with per-delivery bounce lookups (few rows), and described by the latest
# bounce of its outcome's kind, else by the delivery's own reply.
_REJECTIONS = f"""
WITH {_BOUNCED},
candidates AS (
    SELECT d.id FROM deliveries d
    WHERE d.campaign_id = :campaign
      AND (d.state IN ('failed', 'expired') OR d.kind IN ('permanent', 'complaint'))
    UNION SELECT delivery FROM bounced
),
outcomes AS (
    SELECT d.id, d.address, d.reason AS d_reason, d.kind AS d_kind, d.party AS d_party,
           d.status AS d_status, d.last_reply,
           COALESCE(d.last_attempt_at, d.updated_at) AS d_date,
           {OUTCOME_LOOKED_UP} AS outcome
    FROM candidates c CROSS JOIN deliveries d ON d.id = c.id
),
rejections AS (
    SELECT o.*, (SELECT bb.id FROM bounces bb
                 WHERE bb.delivery_id = o.id AND bb.kind = o.outcome
                 ORDER BY bb.id DESC LIMIT 1) AS bounce_id
    FROM outcomes o WHERE o.outcome IN {_REJECTED_SQL}
),
detailed AS (
    SELECT r.id, r.address, r.outcome,
           COALESCE(bb.reason, r.d_reason,
                    CASE r.outcome WHEN 'complaint' THEN 'feedback' ELSE 'undefined' END)
               AS reason,
           COALESCE(bb.kind, r.d_kind, r.outcome) AS kind,
           COALESCE(bb.party, r.d_party) AS party,
           COALESCE(bb.status, r.d_status) AS status,
           COALESCE(bb.diagnostic, r.last_reply, '') AS diagnostic,
           COALESCE(bb.date, bb.recorded_at, r.d_date) AS date
    FROM rejections r LEFT JOIN bounces bb ON bb.id = r.bounce_id
)
"""


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
    """How many deliveries of the campaign ended in each outcome."""
    params = {"campaign": campaign_id}
    counts: dict[str, int] = {}
    # Grouped by the raw columns first (streamed from the covering index, in its order),
    # so the CASE runs once per group, not once per delivery.
    rows = store.conn.execute(
        f"SELECT {OUTCOME_WITHOUT_BOUNCES} AS outcome, SUM(d.n) FROM ("
        "  SELECT state, skip_cause, kind, COUNT(*) AS n FROM deliveries"
        "  WHERE campaign_id = :campaign GROUP BY state, skip_cause, kind"
        ") d GROUP BY outcome",
        params,
    )
    for outcome, count in rows:
        counts[outcome] = counts.get(outcome, 0) + count
    moves = store.conn.execute(_MOVES.format(extra="COUNT(*)") + " GROUP BY before, after", params)
    for before, after, count in moves:
        counts[before] -= count
        counts[after] = counts.get(after, 0) + count
    return counts


def reason_counts(store: Store, campaign_id: int) -> list[dict[str, Any]]:
    """Rejections grouped by reason and kind, most frequent first."""
    rows = store.conn.execute(
        f"{_REJECTIONS} SELECT reason, kind, MAX(party) AS party, COUNT(*) AS count"
        " FROM detailed GROUP BY reason, kind ORDER BY count DESC, reason",
        {"campaign": campaign_id},
    )
    return [dict(row) for row in rows]


_DOMAIN_OF = "substr(d.address, instr(d.address, '@') + 1)"
_GREY = "COALESCE(d.reason, '') = 'greylisted'"
_THROTTLE = "COALESCE(d.reason, '') IN ('speeding', 'toomanyconn')"


def domain_counts(store: Store, campaign_id: int) -> list[dict[str, Any]]:
    """Per recipient domain: recipients tried, rejections, greylisting and throttling seen.

    Greylisting and throttling are usually resolved by a retry, so they are read from the
    send log (``send.deferred`` events) as well as from the deliveries' last reply.
    """
    params = {"campaign": campaign_id}
    domains: dict[str, dict[str, Any]] = {}
    # The inner GROUP BY streams from the deliveries_domain index (same expression).
    rows = store.conn.execute(
        f"SELECT d.domain, SUM((d.state != 'skipped') * d.n) AS recipients,"
        f" SUM(({OUTCOME_WITHOUT_BOUNCES} IN {_REJECTED_SQL}) * d.n) AS rejected,"
        f" SUM(({_GREY}) * d.n) AS greylisted, SUM(({_THROTTLE}) * d.n) AS throttled"
        " FROM ("
        "  SELECT substr(address, instr(address, '@') + 1) AS domain, state, skip_cause, kind,"
        "   reason, COUNT(*) AS n FROM deliveries WHERE campaign_id = :campaign"
        "  GROUP BY 1, 2, 3, 4, 5"
        ") d GROUP BY d.domain",
        params,
    )
    for row in rows:
        domains[row["domain"]] = dict(row)
    moves = store.conn.execute(
        _MOVES.format(extra=f"{_DOMAIN_OF} AS domain, COUNT(*) AS count")
        + " GROUP BY before, after, domain",
        params,
    )
    for row in moves:
        change = (row["after"] in REJECTION_OUTCOMES) - (row["before"] in REJECTION_OUTCOMES)
        domains[row["domain"]]["rejected"] += change * row["count"]
    deferrals = store.conn.execute(
        f"""WITH seen AS (
            SELECT delivery_id,
                   MAX(json_extract(data_json, '$.reason') = 'greylisted') AS grey,
                   MAX(json_extract(data_json, '$.reason') IN ('speeding', 'toomanyconn'))
                       AS throttle
            FROM events WHERE campaign_id = :campaign AND type = 'send.deferred'
            GROUP BY delivery_id
        )
        SELECT {_DOMAIN_OF} AS domain,
               COALESCE(SUM(COALESCE(f.grey, 0) AND NOT {_GREY}), 0) AS greylisted,
               COALESCE(SUM(COALESCE(f.throttle, 0) AND NOT {_THROTTLE}), 0) AS throttled
        FROM seen f CROSS JOIN deliveries d ON d.id = f.delivery_id
        WHERE d.campaign_id = :campaign GROUP BY domain""",
        params,
    )
    for row in deferrals:
        domains[row["domain"]]["greylisted"] += row["greylisted"]
        domains[row["domain"]]["throttled"] += row["throttled"]
    return sorted(domains.values(), key=lambda d: (-d["rejected"], -d["recipients"], d["domain"]))


def iter_rejections(store: Store, campaign_id: int) -> Iterator[dict[str, Any]]:
    """Every rejected recipient with reason and date, streamed in address order."""
    cursor = store.conn.execute(
        f"{_REJECTIONS} SELECT address, outcome, reason, kind, party, status, diagnostic, date"
        " FROM detailed ORDER BY address",
        {"campaign": campaign_id},
    )
    for row in cursor:
        yield dict(row)
