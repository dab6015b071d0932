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

# The bounces of one campaign, one row per delivery, with the latest bounce of each kind.
# Bounces are tied to deliveries by ``delivery_id`` (the correlation step resolves token,
# Message-ID or address to a delivery). Kept in a temporary table keyed by delivery, so every
# query below joins it by primary key.
_BOUNCED = """
SELECT delivery_id AS delivery, MAX(kind = 'complaint') AS complaint,
       MAX(kind = 'permanent') AS permanent, MAX(kind = 'temporary') AS temporary,
       MAX(CASE kind WHEN 'complaint' THEN id END) AS last_complaint,
       MAX(CASE kind WHEN 'permanent' THEN id END) AS last_permanent,
       MAX(CASE kind WHEN 'temporary' THEN id END) AS last_temporary
FROM bounces WHERE campaign_id = :campaign AND delivery_id IS NOT NULL
GROUP BY delivery_id
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


REJECTION_OUTCOMES = ("permanent", "temporary", "complaint")
_REJECTED_SQL = "('permanent', 'temporary', 'complaint')"

_MOVES = f"""
SELECT {OUTCOME_WITHOUT_BOUNCES} AS before, {OUTCOME_WITH_BOUNCES} AS after, {{extra}}
FROM {{bounced}} b CROSS JOIN deliveries d ON d.id = b.delivery
"""

# Rejected deliveries: those rejected by their own state, plus every bounced one, each
# described by the latest bounce of its outcome's kind, else by the delivery's own reply.
_REJECTIONS = f"""
WITH candidates AS (
    SELECT d.id FROM deliveries d
    WHERE d.campaign_id = :campaign
      AND (d.state IN ('failed', 'expired') OR d.kind IN ('permanent', 'complaint'))
    UNION SELECT delivery FROM {{bounced}}
),
outcomes AS (
    SELECT d.id, d.address, d.reason AS d_reason, d.kind AS d_kind, d.party AS d_party,
           d.status AS d_status, d.last_reply,
           COALESCE(d.last_attempt_at, d.updated_at) AS d_date,
           b.last_complaint, b.last_permanent, b.last_temporary,
           {
    _outcome("COALESCE(b.complaint, 0)", "COALESCE(b.permanent, 0)", "COALESCE(b.temporary, 0)")
} AS outcome
    FROM candidates c CROSS JOIN deliveries d ON d.id = c.id
    LEFT JOIN {{bounced}} b ON b.delivery = d.id
),
detailed AS (
    SELECT o.address, o.outcome,
           COALESCE(bb.reason, o.d_reason,
                    CASE o.outcome WHEN 'complaint' THEN 'feedback' ELSE 'undefined' END)
               AS reason,
           COALESCE(bb.kind, o.d_kind, o.outcome) AS kind,
           COALESCE(bb.party, o.d_party) AS party,
           COALESCE(bb.status, o.d_status) AS status,
           COALESCE(bb.diagnostic, o.last_reply, '') AS diagnostic,
           COALESCE(bb.date, bb.recorded_at, o.d_date) AS date
    FROM outcomes o LEFT JOIN bounces bb ON bb.id = CASE o.outcome
        WHEN 'complaint' THEN o.last_complaint WHEN 'permanent' THEN o.last_permanent
        ELSE o.last_temporary END
    WHERE o.outcome IN {_REJECTED_SQL}
)
"""


def _temp(kind: str, campaign_id: int) -> str:
    return f"temp.report_{kind}_{int(campaign_id)}"


def prepare_report(store: Store, campaign_id: int) -> None:
    """Work out the campaign's bounced deliveries and rejected recipients once.

    Two temporary tables (SQLite's temp store, spilled to disk when large, so memory stays
    flat; the database file is never written): the bounces per delivery, and the rejected
    recipients that the reasons table and the streamed list both read.
    """
    params = {"campaign": campaign_id}
    bounced, rejections = _temp("bounced", campaign_id), _temp("rejections", campaign_id)
    store.conn.execute(f"DROP TABLE IF EXISTS {bounced}")
    store.conn.execute(f"DROP TABLE IF EXISTS {rejections}")
    store.conn.execute(
        f"CREATE TABLE {bounced} (delivery INTEGER PRIMARY KEY, complaint, permanent,"
        " temporary, last_complaint, last_permanent, last_temporary)"
    )
    store.conn.execute(f"INSERT INTO {bounced} {_BOUNCED}", params)
    store.conn.execute(
        f"CREATE TABLE {rejections} AS {_REJECTIONS.format(bounced=bounced)}"
        " SELECT address, outcome, reason, kind, party, status, diagnostic, date FROM detailed",
        params,
    )


def _prepared(store: Store, campaign_id: int) -> None:
    name = _temp("rejections", campaign_id).removeprefix("temp.")
    found = store.conn.execute("SELECT 1 FROM sqlite_temp_master WHERE name = ?", (name,))
    if found.fetchone() is None:
        prepare_report(store, campaign_id)


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
    _prepared(store, campaign_id)
    bounced = _temp("bounced", campaign_id)
    moves = store.conn.execute(
        _MOVES.format(extra="COUNT(*)", bounced=bounced) + " GROUP BY before, after"
    )
    for before, after, count in moves:
        counts[before] -= count
        counts[after] = counts.get(after, 0) + count
    return counts


def reason_counts(store: Store, campaign_id: int) -> list[dict[str, Any]]:
    """Rejections grouped by reason and kind, most frequent first."""
    _prepared(store, campaign_id)
    rows = store.conn.execute(
        "SELECT reason, kind, MAX(party) AS party, COUNT(*) AS count"
        f" FROM {_temp('rejections', campaign_id)} GROUP BY reason, kind"
        " ORDER BY count DESC, reason"
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
    _prepared(store, campaign_id)
    moves = store.conn.execute(
        _MOVES.format(
            extra=f"{_DOMAIN_OF} AS domain, COUNT(*) AS count",
            bounced=_temp("bounced", campaign_id),
        )
        + " GROUP BY before, after, domain"
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
    _prepared(store, campaign_id)
    cursor = store.conn.execute(
        "SELECT address, outcome, reason, kind, party, status, diagnostic, date"
        f" FROM {_temp('rejections', campaign_id)} ORDER BY address"
    )
    for row in cursor:
        yield dict(row)
