"""Schema migrations: an ordered list of small named functions (as llm's ``migrations.py``).

``PRAGMA user_version`` counts the migrations applied. Append new steps at the end; never
edit one that has been released. Each step runs in its own transaction.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable

from mailbounce.errors import StoreError
from mailbounce.store.report_schema import (
    COUNT_UPDATE_TRIGGER,
    COUNT_UPDATE_TRIGGER_WITHOUT_STATE,
    REJECTED_INDEX_AND_BOUNCE_TRIGGERS,
    REPORT_COLUMNS,
    REPORT_COLUMNS_MARK,
    create_report_aggregates,
    without_in_lists,
)

Migration = Callable[[sqlite3.Connection], None]


def m001_initial(conn: sqlite3.Connection) -> None:
    """Campaigns, contacts, lists, deliveries, suppressions, bounces, events."""
    run_script(
        conn,
        """
        CREATE TABLE campaigns (
            id INTEGER PRIMARY KEY,
            name TEXT NOT NULL UNIQUE,
            subject TEXT,
            from_addr TEXT,
            settings_json TEXT NOT NULL DEFAULT '{}',
            created_at TEXT NOT NULL,
            last_run_at TEXT
        );
        CREATE TABLE contacts (
            id INTEGER PRIMARY KEY,
            address TEXT NOT NULL UNIQUE,
            first_name TEXT,
            last_name TEXT,
            fields_json TEXT NOT NULL DEFAULT '{}',
            created_at TEXT NOT NULL,
            updated_at TEXT NOT NULL
        );
        CREATE TABLE lists (
            id INTEGER PRIMARY KEY,
            name TEXT NOT NULL UNIQUE,
            source_path TEXT,
            imported_at TEXT NOT NULL
        );
        -- One row per data row of a list's CSV. contact_id NULL: the row has no address
        -- (the list's "without email address" part, shown by ``display``).
        CREATE TABLE list_members (
            id INTEGER PRIMARY KEY,
            list_id INTEGER NOT NULL REFERENCES lists(id) ON DELETE CASCADE,
            contact_id INTEGER REFERENCES contacts(id) ON DELETE CASCADE,
            line INTEGER,
            display TEXT,
            fields_json TEXT NOT NULL DEFAULT '{}',
            UNIQUE (list_id, contact_id)
        );
        CREATE INDEX list_members_contact ON list_members(contact_id);
        -- Addresses not mailed any more. ``address`` is the normalised address, or for a
        -- forgotten person only a keyed hash ("hmac-sha256:...") so they are not re-imported.
        CREATE TABLE suppressions (
            address TEXT PRIMARY KEY,
            cause TEXT NOT NULL,
            since TEXT NOT NULL,
            reason TEXT,
            detail TEXT,
            event_id INTEGER REFERENCES events(id)
        );
        -- One row per campaign x recipient; ``state`` follows DESIGN §6.
        CREATE TABLE deliveries (
            id INTEGER PRIMARY KEY,
            campaign_id INTEGER NOT NULL REFERENCES campaigns(id) ON DELETE CASCADE,
            contact_id INTEGER REFERENCES contacts(id) ON DELETE SET NULL,
            address TEXT NOT NULL,
            list_id INTEGER REFERENCES lists(id) ON DELETE SET NULL,
            state TEXT NOT NULL DEFAULT 'pending',
            skip_cause TEXT,
            attempts INTEGER NOT NULL DEFAULT 0,
            next_attempt_at TEXT,
            first_attempt_at TEXT,
            last_attempt_at TEXT,
            claimed_by TEXT,
            claimed_at TEXT,
            token TEXT,
            message_id TEXT,
            fields_json TEXT NOT NULL DEFAULT '{}',
            last_reply TEXT,
            status TEXT,
            replycode TEXT,
            reason TEXT,
            kind TEXT,
            hardbounce INTEGER,
            party TEXT,
            updated_at TEXT NOT NULL,
            -- report columns (store/report_schema.py)
            UNIQUE (campaign_id, address)
        );
        CREATE INDEX deliveries_due ON deliveries(campaign_id, state, next_attempt_at);
        CREATE INDEX deliveries_message_id ON deliveries(message_id);
        CREATE INDEX deliveries_address ON deliveries(address);
        -- The lists a campaign was sent from, with how many of their rows had no address
        -- when last sent (they have no delivery, yet count in the report's totals).
        CREATE TABLE campaign_lists (
            campaign_id INTEGER NOT NULL REFERENCES campaigns(id) ON DELETE CASCADE,
            list_id INTEGER NOT NULL REFERENCES lists(id) ON DELETE CASCADE,
            without_address INTEGER NOT NULL DEFAULT 0,
            PRIMARY KEY (campaign_id, list_id)
        ) WITHOUT ROWID;
        -- Every bounce record, once: keyed by the bounce message's identity and recipient.
        CREATE TABLE bounces (
            id INTEGER PRIMARY KEY,
            source_key TEXT NOT NULL,
            source TEXT NOT NULL,
            recipient TEXT NOT NULL,
            campaign_id INTEGER REFERENCES campaigns(id) ON DELETE SET NULL,
            delivery_id INTEGER REFERENCES deliveries(id) ON DELETE SET NULL,
            message_id TEXT,
            action TEXT,
            status TEXT,
            replycode TEXT,
            reason TEXT NOT NULL,
            kind TEXT NOT NULL,
            hardbounce INTEGER NOT NULL,
            party TEXT NOT NULL,
            diagnostic TEXT,
            remote_mta TEXT,
            reporting_mta TEXT,
            feedback_type TEXT,
            date TEXT,
            original_message_id TEXT,
            detector TEXT,
            recorded_at TEXT NOT NULL,
            UNIQUE (source_key, recipient)
        );
        CREATE INDEX bounces_recipient ON bounces(recipient);
        CREATE INDEX bounces_campaign ON bounces(campaign_id);
        CREATE INDEX bounces_delivery ON bounces(delivery_id);
        CREATE TABLE quarantine (
            id INTEGER PRIMARY KEY,
            source_key TEXT NOT NULL UNIQUE,
            source TEXT NOT NULL,
            reason TEXT NOT NULL,
            recorded_at TEXT NOT NULL
        );
        -- IMAP resumption: the last UID processed per mailbox, valid for one UIDVALIDITY.
        CREATE TABLE imap_state (
            mailbox TEXT PRIMARY KEY,
            uidvalidity INTEGER NOT NULL,
            last_uid INTEGER NOT NULL
        );
        -- Append-only log: sends, bounces, suppressions, consents, resubscriptions.
        CREATE TABLE events (
            id INTEGER PRIMARY KEY,
            at TEXT NOT NULL,
            type TEXT NOT NULL,
            address TEXT,
            campaign_id INTEGER,
            delivery_id INTEGER,
            data_json TEXT NOT NULL DEFAULT '{}'
        );
        CREATE INDEX events_address ON events(address);
        CREATE INDEX events_campaign ON events(campaign_id, type);
        CREATE TRIGGER events_append_only_update BEFORE UPDATE ON events
        BEGIN SELECT RAISE(ABORT, 'events are append-only'); END;
        """.replace(REPORT_COLUMNS_MARK, REPORT_COLUMNS),
    )
    # The report's per-delivery outcome, counters and the triggers keeping them current.
    create_report_aggregates(conn)


def m002_cheaper_count_trigger(conn: sqlite3.Connection) -> None:
    """The report counters' update trigger compares plain columns only (issue 2): a claim
    and an ``in_flight`` step, which move no counter, pay less for it. Same counters."""
    conn.execute("DROP TRIGGER deliveries_count_update")
    run_script(conn, COUNT_UPDATE_TRIGGER)


def m003_report_columns_without_in_lists(conn: sqlite3.Connection) -> None:
    """The deliveries' generated report columns test ``=`` instead of ``IN`` lists (issue 2):
    every UPDATE of a delivery (claim, in_flight, outcome) costs SQLite about half as much.

    The expressions are equivalent, so the stored values and the file's content stay as
    they are: only the table's text in the schema changes, by SQLite's documented
    procedure for such changes (``writable_schema``, then ``schema_version`` + 1; see
    https://www.sqlite.org/lang_altertable.html#otheralter), not by rebuilding the table.
    """
    find = "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'deliveries'"
    current = conn.execute(find).fetchone()[0]
    wanted = without_in_lists(current)
    if wanted == current:  # already done (another process ran this step first)
        return
    version = conn.execute("PRAGMA schema_version").fetchone()[0]
    conn.execute("PRAGMA writable_schema = ON")
    try:
        conn.execute(
            "UPDATE sqlite_master SET sql = ? WHERE type = 'table' AND name = 'deliveries'",
            (wanted,),
        )
        conn.execute(f"PRAGMA schema_version = {version + 1}")
    except sqlite3.DatabaseError:
        # A SQLite built "defensive" refuses schema edits: the old expressions give the
        # same values, only slower. Nothing was changed.
        return
    finally:
        # RESET: off, and this connection reads the schema again (with OFF it would go on
        # computing the columns with the old expressions until closed).
        conn.execute("PRAGMA writable_schema = RESET")


def m004_rejected_index_without_in_list(conn: sqlite3.Connection) -> None:
    """The partial index of rejected deliveries and the bounces' report triggers test ``=``
    instead of ``IN`` lists, as m003 did for the columns (issue 2): SQLite tests the index's
    condition on every UPDATE of a delivery, once on each row's old and new values. The
    index is rebuilt (one scan of the deliveries); same rows, same triggers' effects."""
    run_script(conn, REJECTED_INDEX_AND_BOUNCE_TRIGGERS)


# A bounce counted in its address's soft-failure history (``store.bounces.soft_bounce_dates``'s
# WHERE, the same terms: SQLite uses a partial index only for a query holding its terms).
SOFT_BOUNCE_WHERE = (
    "party = 'recipient' AND hardbounce = 0 AND (kind = 'temporary' OR kind = 'permanent')"
    " AND COALESCE(NULLIF(LOWER(TRIM(action)), ''), 'failed') = 'failed'"
)


def m005_lighter_bounce_indexes(conn: sqlite3.Connection) -> None:
    """Fewer index writes per parsed bounce, and a soft-failure history read from an index
    (issue 3): the indexes by campaign and delivery of ``bounces`` and ``events`` leave out
    the rows without one (every query of them asks ``= ?``, which a NULL never is), and
    ``bounces_soft`` holds the soft failures with what the history asks, so reading an
    address's history no longer reads each of its bounce rows from the table (a cost that
    grew with the store). Same rows, same answers."""
    run_script(
        conn,
        f"""DROP INDEX bounces_campaign;
CREATE INDEX bounces_campaign ON bounces(campaign_id) WHERE campaign_id IS NOT NULL;
DROP INDEX bounces_delivery;
CREATE INDEX bounces_delivery ON bounces(delivery_id) WHERE delivery_id IS NOT NULL;
DROP INDEX events_campaign;
CREATE INDEX events_campaign ON events(campaign_id, type) WHERE campaign_id IS NOT NULL;
CREATE INDEX bounces_soft
    ON bounces(recipient, date, recorded_at, party, hardbounce, kind, action)
    WHERE {SOFT_BOUNCE_WHERE};
""",
    )


def m006_count_trigger_not_fired_by_state_alone(conn: sqlite3.Connection) -> None:
    """The report counters' update trigger is not fired by a change of ``state`` alone
    (issue 2): a claim and a send's ``in_flight`` step, which move no counter, no longer pay
    for it; the writers moving a delivery into or out of an outcome set a counted column
    (``report_schema.COUNT_UPDATE_TRIGGER_WITHOUT_STATE``), and its two statements are one
    upsert. Same counters."""
    conn.execute("DROP TRIGGER deliveries_count_update")
    run_script(conn, COUNT_UPDATE_TRIGGER_WITHOUT_STATE)


MIGRATIONS: tuple[Migration, ...] = (
    m001_initial,
    m002_cheaper_count_trigger,
    m003_report_columns_without_in_lists,
    m004_rejected_index_without_in_list,
    m005_lighter_bounce_indexes,
    m006_count_trigger_not_fired_by_state_alone,
)


def run_script(conn: sqlite3.Connection, script: str) -> None:
    """Run several statements inside the caller's transaction.

    ``Connection.executescript`` would COMMIT first, breaking a migration's atomicity.
    """
    statement = ""
    for line in script.splitlines(keepends=True):
        statement += line
        if sqlite3.complete_statement(statement):
            conn.execute(statement)
            statement = ""
    if statement.strip():
        conn.execute(statement)


def schema_version(conn: sqlite3.Connection) -> int:
    """How many migrations this database has had."""
    return int(conn.execute("PRAGMA user_version").fetchone()[0])


def migrate(conn: sqlite3.Connection, migrations: tuple[Migration, ...] = MIGRATIONS) -> int:
    """Apply the migrations this database has not had yet; return the new version."""
    current = schema_version(conn)
    if current > len(migrations):
        raise StoreError(
            f"database schema version {current} is newer than this mailbounce "
            f"({len(migrations)}): upgrade mailbounce"
        )
    for number, step in enumerate(migrations[current:], start=current + 1):
        conn.execute("BEGIN IMMEDIATE")
        try:
            step(conn)
            conn.execute(f"PRAGMA user_version = {number}")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")
    return schema_version(conn)
