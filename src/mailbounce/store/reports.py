"""The SQL of campaign reports: every figure aggregated in SQLite (GROUP BY), rows streamed.

Each delivery gets exactly one *outcome* (``OUTCOME_SQL``), so the totals always add up to
the number of recipients. A delivery's own state and classification come from the send run;
bounce mail received later (table ``bounces``) can turn a ``sent`` delivery into a
rejection or a complaint, so the outcome looks at both.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from mailbounce.store.db import Store

# The bounces of one campaign, one row per delivery (a bounce the correlation tied only to
# the campaign is matched by address, UNIQUE(campaign_id, address)).
_BOUNCES_BY_DELIVERY = """
bounced AS (
    SELECT delivery, MAX(kind = 'complaint') AS complaint, MAX(kind = 'permanent') AS permanent,
           MAX(kind = 'temporary') AS temporary
    FROM (
        SELECT COALESCE(b.delivery_id, (SELECT d2.id FROM deliveries d2
                 WHERE d2.campaign_id = b.campaign_id AND d2.address = b.recipient))
               AS delivery, b.kind
        FROM bounces b WHERE b.campaign_id = :campaign
    )
    WHERE delivery IS NOT NULL GROUP BY delivery
)
"""

# One outcome per delivery, first match wins. Order matters: a skipped or unsent row has no
# result yet; a complaint outranks any rejection; a bounce proves an "uncertain" mail left.
OUTCOME_SQL = """
CASE
    WHEN d.state = 'skipped' THEN 'skipped_' || COALESCE(d.skip_cause, 'manual')
    WHEN d.state IN ('pending', 'claimed', 'in_flight') THEN 'pending'
    WHEN d.kind = 'complaint' OR b.complaint THEN 'complaint'
    WHEN (d.state IN ('failed', 'sent') AND d.kind = 'permanent') OR b.permanent THEN 'permanent'
    WHEN d.state = 'uncertain' THEN 'uncertain'
    WHEN d.state = 'deferred' THEN 'deferred'
    WHEN d.state IN ('failed', 'expired') OR b.temporary THEN 'temporary'
    ELSE 'accepted'
END
"""

REJECTION_OUTCOMES = ("permanent", "temporary", "complaint")

_OUTCOMES = f"""
WITH {_BOUNCES_BY_DELIVERY},
outcomes AS (
    SELECT d.id, d.address, d.state, d.reason AS d_reason, d.kind AS d_kind,
           d.party AS d_party, d.status AS d_status, d.last_reply,
           COALESCE(d.last_attempt_at, d.updated_at) AS d_date, {OUTCOME_SQL} AS outcome
    FROM deliveries d LEFT JOIN bounced b ON b.delivery = d.id
    WHERE d.campaign_id = :campaign
)
"""

# For a rejection: the latest bounce of the outcome's kind, else the delivery's own reply.
_REJECTIONS = f"""
{_OUTCOMES},
rejections AS (
    SELECT o.*, (SELECT bb.id FROM bounces bb
                 WHERE bb.delivery_id = o.id AND bb.kind = o.outcome
                 ORDER BY bb.id DESC LIMIT 1) AS bounce_id
    FROM outcomes o WHERE o.outcome IN ('permanent', 'temporary', 'complaint')
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

_DOMAIN = "substr(address, instr(address, '@') + 1)"


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
    rows = store.conn.execute(
        f"{_OUTCOMES} SELECT outcome, COUNT(*) FROM outcomes GROUP BY outcome",
        {"campaign": campaign_id},
    )
    return {row[0]: row[1] for row in rows}


def reason_counts(store: Store, campaign_id: int) -> list[dict[str, Any]]:
    """Rejections grouped by reason and kind, most frequent first."""
    rows = store.conn.execute(
        f"{_REJECTIONS} SELECT reason, kind, MAX(party) AS party, COUNT(*) AS count,"
        " SUM(outcome = 'permanent') AS permanent FROM detailed"
        " GROUP BY reason, kind ORDER BY count DESC, reason",
        {"campaign": campaign_id},
    )
    return [dict(row) for row in rows]


def domain_counts(store: Store, campaign_id: int) -> list[dict[str, Any]]:
    """Per recipient domain: recipients tried, rejections, greylisting and throttling seen.

    Greylisting and throttling are usually resolved by a retry, so they are read from the
    send log (``send.deferred`` events) as well as from the deliveries' last reply.
    """
    rows = store.conn.execute(
        f"""{_OUTCOMES},
        deferrals AS (
            SELECT delivery_id, MAX(json_extract(data_json, '$.reason') = 'greylisted') AS grey,
                   MAX(json_extract(data_json, '$.reason') IN ('speeding', 'toomanyconn'))
                       AS throttle
            FROM events WHERE campaign_id = :campaign AND type = 'send.deferred'
            GROUP BY delivery_id
        )
        SELECT {_DOMAIN} AS domain,
               SUM(outcome NOT LIKE 'skipped_%') AS recipients,
               SUM(outcome IN ('permanent', 'temporary', 'complaint')) AS rejected,
               SUM(COALESCE(f.grey, 0) OR COALESCE(d_reason, '') = 'greylisted') AS greylisted,
               SUM(COALESCE(f.throttle, 0)
                   OR COALESCE(d_reason, '') IN ('speeding', 'toomanyconn')) AS throttled
        FROM outcomes LEFT JOIN deferrals f ON f.delivery_id = outcomes.id
        GROUP BY domain ORDER BY rejected DESC, recipients DESC, domain""",
        {"campaign": campaign_id},
    )
    return [dict(row) for row in rows]


def iter_rejections(store: Store, campaign_id: int) -> Iterator[dict[str, Any]]:
    """Every rejected recipient with reason and date, streamed in address order."""
    cursor = store.conn.execute(
        f"{_REJECTIONS} SELECT address, outcome, reason, kind, party, status, diagnostic, date"
        " FROM detailed ORDER BY address",
        {"campaign": campaign_id},
    )
    for row in cursor:
        yield dict(row)
