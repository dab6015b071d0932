"""The report's aggregates, kept current by SQLite triggers (part of ``m001_initial``).

A report of a million deliveries must not scan them (issue 5, "Scale"). Each delivery
carries its report *outcome* (a stored generated column, from its own state and the latest
correlated bounce of its highest rejection kind, which the triggers on ``bounces`` copy into
it), and ``campaign_counts`` holds how many deliveries of a campaign share each
domain × outcome × reason × kind × party × greylisting × throttling. Triggers on
``deliveries``, ``bounces`` and ``events`` keep both current inside the writer's own
transaction, so every writer (send, parse-bounces, resubscribe, forget, tests' bulk SQL)
stays correct without knowing; ``tests/test_report_counters.py`` checks the counters
against a from-scratch GROUP BY over stores built by the real writers.
"""

from __future__ import annotations

import sqlite3

REJECTIONS = ("permanent", "temporary", "complaint")
REJECTIONS_SQL = "('permanent', 'temporary', 'complaint')"

# One outcome per delivery, first match wins (the rule of DESIGN §1's totals). A skipped or
# unsent row has no result yet; a complaint outranks any rejection; a bounce proves an
# "uncertain" mail left. Only the highest bounce kind matters: a lower one is never reached.
OUTCOME = """CASE
    WHEN state = 'skipped' THEN 'skipped_' || COALESCE(skip_cause, 'manual')
    WHEN state IN ('pending', 'claimed', 'in_flight') THEN 'pending'
    WHEN kind = 'complaint' OR bounce_kind = 'complaint' THEN 'complaint'
    WHEN (state IN ('failed', 'sent') AND kind = 'permanent') OR bounce_kind = 'permanent'
        THEN 'permanent'
    WHEN state = 'uncertain' THEN 'uncertain'
    WHEN state = 'deferred' THEN 'deferred'
    WHEN state IN ('failed', 'expired') OR bounce_kind = 'temporary' THEN 'temporary'
    ELSE 'accepted'
END"""

# A rejection is described by the bounce of its own kind when there is one, else by the
# delivery's own reply (generated columns read ``outcome``, declared before them).
_BY_BOUNCE = "bounce_kind IS outcome"
_GENERATED = {
    "outcome": OUTCOME,
    "report_reason": f"""CASE WHEN outcome IN {REJECTIONS_SQL} THEN COALESCE(
        CASE WHEN {_BY_BOUNCE} THEN bounce_reason END, reason,
        CASE outcome WHEN 'complaint' THEN 'feedback' ELSE 'undefined' END) END""",
    "report_kind": f"""CASE WHEN outcome IN {REJECTIONS_SQL} THEN COALESCE(
        CASE WHEN {_BY_BOUNCE} THEN bounce_kind END, kind, outcome) END""",
    "report_party": f"""CASE WHEN outcome IN {REJECTIONS_SQL} THEN COALESCE(
        CASE WHEN {_BY_BOUNCE} THEN bounce_party END, party) END""",
    "report_date": f"""COALESCE(CASE WHEN {_BY_BOUNCE} THEN bounce_date END,
        last_attempt_at, updated_at)""",
}

# Bits of ``deliveries.deferrals_seen``: greylisting and throttling met on a retried attempt
# (``send.deferred`` events), usually resolved by the retry and so absent from the last reply.
GREY_BIT, THROTTLE_BIT = 1, 2
THROTTLE_REASONS = "('speeding', 'toomanyconn')"


def _key(row: str) -> list[str]:
    """The counter key of a delivery row (``new`` or ``old``), column by column."""
    return [
        f"{row}.campaign_id",
        f"substr({row}.address, instr({row}.address, '@') + 1)",
        f"{row}.outcome",
        f"COALESCE({row}.report_reason, '')",
        f"COALESCE({row}.report_kind, '')",
        f"COALESCE({row}.report_party, '')",
        f"(COALESCE({row}.reason, '') = 'greylisted' OR {row}.deferrals_seen & {GREY_BIT})",
        f"(COALESCE({row}.reason, '') IN {THROTTLE_REASONS}"
        f" OR {row}.deferrals_seen & {THROTTLE_BIT})",
    ]


COUNT_COLUMNS = (
    "campaign_id",
    "domain",
    "outcome",
    "reason",
    "kind",
    "party",
    "greylisted",
    "throttled",
)


def _add(row: str) -> str:
    return (
        f"INSERT INTO campaign_counts ({', '.join(COUNT_COLUMNS)}, n)"
        f" VALUES ({', '.join(_key(row))}, 1)"
        f" ON CONFLICT ({', '.join(COUNT_COLUMNS)}) DO UPDATE SET n = n + 1;"
    )


def _remove(row: str) -> str:
    match = " AND ".join(f"{c} = {v}" for c, v in zip(COUNT_COLUMNS, _key(row), strict=True))
    return f"UPDATE campaign_counts SET n = n - 1 WHERE {match};"


# The latest correlated bounce of the highest rejection kind (complaint > permanent >
# temporary) of one delivery, recomputed from its bounces (indexed by delivery) whenever one
# of them changes, so deletions (``forget``) and re-correlation are right too.
_TOP_BOUNCE = """
UPDATE deliveries SET (bounce_id, bounce_kind, bounce_reason, bounce_party, bounce_date) = (
    SELECT b.id, b.kind, b.reason, b.party, COALESCE(b.date, b.recorded_at) FROM bounces b
    WHERE b.delivery_id = deliveries.id AND b.campaign_id = deliveries.campaign_id
      AND b.kind IN ('complaint', 'permanent', 'temporary')
    ORDER BY CASE b.kind WHEN 'complaint' THEN 0 WHEN 'permanent' THEN 1 ELSE 2 END, b.id DESC
    LIMIT 1)
WHERE id = {row}.delivery_id;"""


def _deferral_bits(data: str) -> str:
    reason = f"json_extract({data}, '$.reason')"
    return (
        f"(CASE WHEN json_valid({data}) THEN COALESCE({reason} = 'greylisted', 0) * {GREY_BIT}"
        f" | COALESCE({reason} IN {THROTTLE_REASONS}, 0) * {THROTTLE_BIT} ELSE 0 END)"
    )


_COUNTED = (
    "campaign_id, address, state, skip_cause, reason, kind, party,"
    " bounce_kind, bounce_reason, bounce_party, deferrals_seen"
)


def _key_changed() -> str:
    """Whether an update moves the delivery to another counter, cheapest tests first.

    Most updates are send steps that keep the outcome (claimed -> in_flight: pending); the
    rejection's description (nested generated columns, costlier) is compared only for
    rejections, so the send path pays two ``outcome`` evaluations, not sixteen keys.
    """
    old, new = _key("old"), _key("new")
    cheap = [0, 1, 2, 6, 7]  # campaign, domain, outcome, greylisted, throttled
    described = [3, 4, 5]  # reason, kind, party: '' unless a rejection
    return (
        " OR ".join(f"{old[i]} IS NOT {new[i]}" for i in cheap)
        + f" OR (new.outcome IN {REJECTIONS_SQL} AND ("
        + ", ".join(old[i] for i in described)
        + ") IS NOT ("
        + ", ".join(new[i] for i in described)
        + "))"
    )


def _key_may_change() -> str:
    """Whether an update may move the delivery to another counter (m002's trigger WHEN).

    Plain column comparisons, the outcome's first: a send's outcome changes it (true at
    once); a claim and an ``in_flight`` step change none of them (every test false, each a
    register compare, where ``_key_changed``'s domain, greylisting and ``IN`` expressions
    cost them about a third of their UPDATE). A true answer for an unchanged key is
    harmless: the counter loses one and gains it back.
    """
    # The report_* columns are NULL unless the outcome is a rejection: compared as they are,
    # without ``outcome IN (...)`` (see ``without_in_lists``).
    compared = ["outcome", "campaign_id", "address", "reason", "deferrals_seen"]
    compared += ["report_reason", "report_kind", "report_party"]
    return " OR ".join(f"old.{c} IS NOT new.{c}" for c in compared)


# m002: the counters' update trigger with the cheaper WHEN (same counters).
COUNT_UPDATE_TRIGGER = f"""
CREATE TRIGGER deliveries_count_update AFTER UPDATE OF {_COUNTED} ON deliveries
WHEN {_key_may_change()}
BEGIN {_remove("old")} {_add("new")} END;
"""


# m006: the counters' update trigger, no longer fired by a change of ``state`` alone, its
# two statements made one (issue 2). Between pending, claimed and in_flight a state change
# moves no counter (all three are "pending"), yet each such UPDATE (a claim, a send's
# ``in_flight`` step) paid for the trigger's frame. A writer moving a delivery into or out
# of an outcome sets a column listed here besides ``state``: a send's outcome and a bounce's
# rejection set the reason, a skip its cause, crash recovery the reason; the claim of a
# deferred recipient and ``--resend-uncertain`` set ``reason = reason`` for it
# (``store/claims.py``). ``tests/test_report_counters.py`` checks every path. The old key
# leaves (-1) and the new one joins (+1) in one upsert: the old key's row exists, as the
# counters are exact, so the sum is the same as the UPDATE then INSERT of m002.
_COUNTED_WITHOUT_STATE = _COUNTED.replace(" state,", "")
_KEYS = ", ".join(COUNT_COLUMNS)
COUNT_UPDATE_TRIGGER_WITHOUT_STATE = f"""
CREATE TRIGGER deliveries_count_update AFTER UPDATE OF {_COUNTED_WITHOUT_STATE} ON deliveries
WHEN {_key_may_change()}
BEGIN INSERT INTO campaign_counts ({_KEYS}, n)
VALUES ({", ".join(_key("old"))}, -1), ({", ".join(_key("new"))}, 1)
ON CONFLICT ({_KEYS}) DO UPDATE SET n = n + excluded.n; END;
"""


def _bounce_report_triggers(top_bounce: str) -> str:
    """The triggers copying a delivery's top bounce into it (m001; m004 respells them)."""
    return f"""CREATE TRIGGER bounces_report_insert AFTER INSERT ON bounces
WHEN new.delivery_id IS NOT NULL
BEGIN {top_bounce.format(row="new")} END;
CREATE TRIGGER bounces_report_delete AFTER DELETE ON bounces
WHEN old.delivery_id IS NOT NULL
BEGIN {top_bounce.format(row="old")} END;
CREATE TRIGGER bounces_report_update
AFTER UPDATE OF delivery_id, campaign_id, kind, reason, party, date, recorded_at ON bounces
BEGIN {top_bounce.format(row="old")} {top_bounce.format(row="new")} END;
"""


SCHEMA = f"""
CREATE TABLE campaign_counts (
    campaign_id INTEGER NOT NULL REFERENCES campaigns(id) ON DELETE CASCADE,
    domain TEXT NOT NULL,
    outcome TEXT NOT NULL,
    reason TEXT NOT NULL,  -- '' unless the outcome is a rejection
    kind TEXT NOT NULL,
    party TEXT NOT NULL,
    greylisted INTEGER NOT NULL,
    throttled INTEGER NOT NULL,
    n INTEGER NOT NULL,
    PRIMARY KEY ({", ".join(COUNT_COLUMNS)})
) WITHOUT ROWID;
-- The rejected recipients of a campaign, most recent first, without reading the others.
CREATE INDEX deliveries_rejected ON deliveries(campaign_id, report_date)
    WHERE outcome IN {REJECTIONS_SQL};
CREATE INDEX events_deferred ON events(delivery_id) WHERE type = 'send.deferred';
CREATE TRIGGER deliveries_count_insert AFTER INSERT ON deliveries
BEGIN {_add("new")} END;
CREATE TRIGGER deliveries_count_delete AFTER DELETE ON deliveries
BEGIN {_remove("old")} END;
CREATE TRIGGER deliveries_count_update AFTER UPDATE OF {_COUNTED} ON deliveries
WHEN {_key_changed()}
BEGIN {_remove("old")} {_add("new")} END;
{_bounce_report_triggers(_TOP_BOUNCE)}CREATE TRIGGER events_report_deferred AFTER INSERT ON events
WHEN new.type = 'send.deferred' AND new.delivery_id IS NOT NULL
BEGIN
    UPDATE deliveries SET deferrals_seen = deferrals_seen | {_deferral_bits("new.data_json")}
    WHERE id = new.delivery_id AND campaign_id IS new.campaign_id
      AND deferrals_seen | {_deferral_bits("new.data_json")} != deferrals_seen;
END;
-- ``forget`` rewrites a person's events (store/people.py): their deferral reasons go too.
CREATE TRIGGER events_report_rewrite AFTER UPDATE OF data_json ON events
WHEN old.type = 'send.deferred' AND old.delivery_id IS NOT NULL
BEGIN
    UPDATE deliveries SET deferrals_seen = (
        SELECT COALESCE(MAX({_deferral_bits("e.data_json")} & {GREY_BIT}), 0)
             | COALESCE(MAX({_deferral_bits("e.data_json")} & {THROTTLE_BIT}), 0)
        FROM events e WHERE e.delivery_id = deliveries.id AND e.type = 'send.deferred'
          AND e.campaign_id IS deliveries.campaign_id)
    WHERE id = old.delivery_id;
END;
"""

# Inserted into ``CREATE TABLE deliveries`` (m001) at the line ``REPORT_COLUMNS_MARK``. The
# derived columns are STORED: computed once per write, then read like any column by the
# triggers and the index (virtual ones were re-evaluated on every read: 30x slower updates).
REPORT_COLUMNS_MARK = "-- report columns (store/report_schema.py)"
REPORT_COLUMNS = "\n".join(
    [
        "bounce_id INTEGER,",
        "bounce_kind TEXT,",
        "bounce_reason TEXT,",
        "bounce_party TEXT,",
        "bounce_date TEXT,",
        "deferrals_seen INTEGER NOT NULL DEFAULT 0,",
        *(f"{name} TEXT GENERATED ALWAYS AS ({sql}) STORED," for name, sql in _GENERATED.items()),
    ]
)


# ``x IN ('a', 'b', 'c')``: SQLite builds a temporary b-tree of the three constants each
# time the expression runs within a statement execution (once per row of an UPDATE, and
# per trigger invocation); two constants or ``=`` tests do not. The generated columns had
# four such lists, evaluated on every UPDATE of a delivery (claim, in_flight, outcome):
# about half of a claim's UPDATE (issue 2). The same tests spelt with ``OR``.
_IN_LISTS = {
    "state IN ('pending', 'claimed', 'in_flight')": (
        "(state = 'pending' OR state = 'claimed' OR state = 'in_flight')"
    ),
    f"outcome IN {REJECTIONS_SQL}": "("
    + " OR ".join(f"outcome = '{kind}'" for kind in REJECTIONS)
    + ")",
}


# m004: the same spelling for the partial index of rejected deliveries (its WHERE is tested
# on the old and the new row of every UPDATE: ~9 µs a row with the IN list, ~1 without) and
# for the bounces' triggers (each bounce recorded against a delivery). ``reports.py``
# queries the index with this very text: SQLite uses a partial index only when the query's
# WHERE holds the index's condition term for term.
REJECTED_SQL = _IN_LISTS[f"outcome IN {REJECTIONS_SQL}"]
_TOP_KIND_IN = "b.kind IN ('complaint', 'permanent', 'temporary')"
_TOP_KIND_EQ = "(b.kind = 'complaint' OR b.kind = 'permanent' OR b.kind = 'temporary')"
_TOP_BOUNCE_EQ = _TOP_BOUNCE.replace(_TOP_KIND_IN, _TOP_KIND_EQ)
REJECTED_INDEX_AND_BOUNCE_TRIGGERS = f"""
DROP INDEX deliveries_rejected;
CREATE INDEX deliveries_rejected ON deliveries(campaign_id, report_date) WHERE {REJECTED_SQL};
DROP TRIGGER bounces_report_insert;
DROP TRIGGER bounces_report_delete;
DROP TRIGGER bounces_report_update;
{_bounce_report_triggers(_TOP_BOUNCE_EQ)}"""


def without_in_lists(deliveries_sql: str) -> str:
    """The ``CREATE TABLE deliveries`` text with its generated columns' IN lists spelt as
    equivalent ``=`` tests (m003): the same values, computed without temporary b-trees."""
    for in_list, tests in _IN_LISTS.items():
        deliveries_sql = deliveries_sql.replace(in_list, tests)
    return deliveries_sql


def with_report_columns(script: str) -> str:
    """m001's script with the report's columns in ``deliveries``."""
    if script.count(REPORT_COLUMNS_MARK) != 1:
        raise ValueError("m001 must hold the report columns' mark once, in deliveries")
    return script.replace(REPORT_COLUMNS_MARK, REPORT_COLUMNS)


def create_report_aggregates(conn: sqlite3.Connection) -> None:
    """Create the report's counters, index and triggers (inside m001's transaction)."""
    from mailbounce.store.migrations import run_script

    run_script(conn, SCHEMA)
