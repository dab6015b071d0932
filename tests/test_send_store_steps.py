"""A commit of many deliveries' steps (``store.sending.record_steps``) on real SQLite: more
rows than one statement takes, values NULL in some rows, one row that cannot move."""

from __future__ import annotations

from pathlib import Path

import pytest
from test_send_store import Row

from mailbounce.errors import StoreError
from mailbounce.models import DeliveryState
from mailbounce.store import Store, delivery_queries
from mailbounce.store import campaigns as campaign_rows
from mailbounce.store import sending as st
from mailbounce.store.lists import import_list

NOW = "2026-11-20T10:00:00+00:00"
LATER = "2026-11-20T10:10:00+00:00"


@pytest.fixture
def store(db_path: Path) -> Store:
    return Store(db_path)


def many_recipients(store: Store, tmp_path: Path, count: int) -> int:
    members = [Row(n + 2, f"m{n}@example.org", f"m{n}@example.org") for n in range(count)]
    imported = import_list(store, tmp_path / "many.csv", members)
    campaign = campaign_rows.save_campaign(
        store, "many", subject="S", from_addr="a@b.example", settings={}
    )
    campaign_rows.add_list_recipients(store, campaign.id, imported.list_id)
    return campaign.id


def test_steps_of_many_deliveries_in_one_commit(store: Store, tmp_path: Path) -> None:
    """More rows than one statement takes (``ROWS_PER_STATEMENT``), values NULL in some
    rows and not in others: each delivery gets its own values, as one row at a time did."""
    from mailbounce.classify import classify_smtp_reply

    count = 2 * st.ROWS_PER_STATEMENT + 3
    campaign_id = many_recipients(store, tmp_path, count)
    claimed = st.claim_due(store, campaign_id, worker="w", now=NOW, limit=count)
    assert len(claimed) == count
    flying = [
        st.InFlight(d.id, f"tok{d.id}" if i % 3 == 0 else None, f"<{d.id}@x>", i % 2 == 0)
        for i, d in enumerate(claimed)
    ]
    st.record_steps(store, flying, [], now=NOW)
    rows = store.conn.execute(
        "SELECT id, state, token, message_id, attempts, first_attempt_at FROM deliveries"
        " WHERE campaign_id = ? ORDER BY id",
        (campaign_id,),
    ).fetchall()
    stored_ids = {d.id: d.message_id for d in claimed}
    assert [tuple(row) for row in rows] == [
        (
            f.delivery_id,
            "in_flight",
            f.token,
            f.message_id if f.store_message_id else stored_ids[f.delivery_id],
            1,
            NOW,
        )
        for f in flying
    ]
    cls = classify_smtp_reply(550, "5.1.1 User unknown")
    outcomes = []
    for i in range(count):
        if i % 4 == 1:
            outcome = st.Outcome(
                DeliveryState.FAILED,
                reply="550 5.1.1 User unknown",
                replycode="550",
                status="5.1.1",
                classification=cls,
            )
        elif i % 4 == 2:
            outcome = st.Outcome(DeliveryState.DEFERRED, reply="451 later", next_attempt_at=LATER)
        else:
            outcome = st.Outcome(DeliveryState.SENT, reply=f"250 ok {i}", replycode="250")
        outcomes.append(outcome)
    concluded = [st.Concluded(d, o, True) for d, o in zip(claimed, outcomes, strict=True)]
    st.record_steps(store, [], concluded, now=LATER)
    rows = store.conn.execute(
        "SELECT state, last_reply, replycode, status, reason, kind, hardbounce, party,"
        " next_attempt_at, attempts, claimed_by, updated_at FROM deliveries"
        " WHERE campaign_id = ? ORDER BY id",
        (campaign_id,),
    ).fetchall()
    expected = []
    for o in outcomes:
        c = o.classification
        expected.append(
            (
                str(o.state),
                o.reply,
                o.replycode,
                o.status,
                str(c.reason) if c else None,
                str(c.kind) if c else None,
                int(c.hardbounce) if c else None,
                str(c.party) if c else None,
                o.next_attempt_at,
                1,
                None,
                LATER,
            )
        )
    assert [tuple(row) for row in rows] == expected


def test_one_delivery_that_cannot_move_fails_the_whole_commit(store: Store, tmp_path: Path) -> None:
    count = st.ROWS_PER_STATEMENT + 2
    campaign_id = many_recipients(store, tmp_path, count)
    claimed = st.claim_due(store, campaign_id, worker="w", now=NOW, limit=count)
    last = claimed[-1]
    st.record_steps(store, [st.InFlight(last.id, None, "<a@x>")], [], now=NOW)
    sent = st.Outcome(DeliveryState.SENT, reply="250 ok")
    st.record_steps(store, [], [st.Concluded(last, sent, True)], now=NOW)
    flying = [st.InFlight(d.id, None, f"<{d.id}@x>", False) for d in claimed]
    with pytest.raises(StoreError, match=f"delivery {claimed[-1].id} cannot move to 'in_flight'"):
        st.record_steps(store, flying, [], now=LATER)
    assert delivery_queries.state_counts(store, campaign_id) == {
        "claimed": count - 1,
        "sent": 1,
    }
