"""Message-IDs stored with a campaign's recipients, not written by each ``in_flight`` step.

``compose.message_id_maker`` gives ``add_list_recipients`` the campaign's Message-ID of an
address; the send loop takes it from the claimed delivery (``recipient_message_id``) and
its ``in_flight`` step leaves the column (and its index) alone (issue 2). The Message-ID of
a campaign × address stays what ``make_message_id`` makes: bounces correlate by it.
"""

from __future__ import annotations

from email import message_from_bytes
from pathlib import Path

import pytest
from smtp_testserver import ScriptedServer
from test_send_run import offline, options, write_campaign
from test_send_store import NOW, Row

from mailbounce.campaign_loading import load_campaign
from mailbounce.compose import make_message_id, message_id_maker, recipient_message_id
from mailbounce.errors import StoreError
from mailbounce.sending import SendOptions, send_campaign
from mailbounce.store import Store
from mailbounce.store import campaigns as campaign_rows
from mailbounce.store import sending as st
from mailbounce.store.lists import import_list

DOMAIN = "asso.example"


def _rows(*addresses: str) -> list[Row]:
    return [Row(line, address, address) for line, address in enumerate(addresses, start=2)]


def _message_ids(store: Store, campaign_id: int) -> dict[str, str | None]:
    rows = store.conn.execute(
        "SELECT address, message_id FROM deliveries WHERE campaign_id = ?", (campaign_id,)
    )
    return {row[0]: row[1] for row in rows}


@pytest.fixture
def store(db_path: Path) -> Store:
    return Store(db_path)


def _campaign(store: Store, name: str = "nov") -> int:
    record = campaign_rows.save_campaign(
        store, name, subject="S", from_addr=f"news@{DOMAIN}", settings={}
    )
    return record.id


def test_maker_makes_the_message_ids_of_make_message_id() -> None:
    maker = message_id_maker("Nouvelles de novembre", "Asso.Example")
    for address in ("ann@example.org", "Bob@Example.org", "émile@exemple.fr"):
        assert maker(address) == make_message_id("Nouvelles de novembre", address, "Asso.Example")


def test_recipients_get_their_message_ids_when_added(store: Store, tmp_path: Path) -> None:
    campaign_id = _campaign(store)
    first = import_list(store, tmp_path / "a.csv", _rows("ann@example.org", "cid@example.org"))
    maker = message_id_maker("nov", DOMAIN)
    campaign_rows.add_list_recipients(store, campaign_id, first.list_id, message_id=maker)
    # A second list: only its new recipient is given one (and the first list's keep theirs).
    second = import_list(store, tmp_path / "b.csv", _rows("cid@example.org", "dan@example.org"))
    added = campaign_rows.add_list_recipients(store, campaign_id, second.list_id, message_id=maker)
    assert added == 1
    stored = _message_ids(store, campaign_id)
    assert stored == {a: make_message_id("nov", a, DOMAIN) for a in stored}
    assert len(set(stored.values())) == 3  # no two deliveries share one


def test_rows_of_an_earlier_build_get_theirs_unless_final(store: Store, tmp_path: Path) -> None:
    campaign_id = _campaign(store)
    members = _rows("ann@example.org", "bob@example.org", "cid@example.org")
    imported = import_list(store, tmp_path / "a.csv", members)
    campaign_rows.add_list_recipients(store, campaign_id, imported.list_id)  # as before
    assert set(_message_ids(store, campaign_id).values()) == {None}
    store.conn.execute(
        "UPDATE deliveries SET state = 'sent' WHERE address = 'cid@example.org'"
    )  # sent by an earlier build, whose Message-ID (here none) is left as it is
    maker = message_id_maker("nov", DOMAIN)
    added = campaign_rows.add_list_recipients(
        store, campaign_id, imported.list_id, message_id=maker
    )
    assert added == 0
    assert _message_ids(store, campaign_id) == {
        "ann@example.org": maker("ann@example.org"),
        "bob@example.org": maker("bob@example.org"),
        "cid@example.org": None,
    }


def test_in_flight_keeps_the_stored_message_id(store: Store, tmp_path: Path) -> None:
    campaign_id = _campaign(store)
    imported = import_list(store, tmp_path / "a.csv", _rows("ann@example.org", "bob@example.org"))
    maker = message_id_maker("nov", DOMAIN)
    campaign_rows.add_list_recipients(store, campaign_id, imported.list_id, message_id=maker)
    ann, bob = st.claim_due(store, campaign_id, worker="t", now=NOW, limit=10)
    assert ann.message_id == maker("ann@example.org")
    # Kept: the step does not write the column (a wrong id here would show if it did).
    kept = st.InFlight(ann.id, "tok", "<not-written@x>", store_message_id=False)
    st.record_steps(store, [kept, st.InFlight(bob.id, None, "<new@x>")], [], now=NOW)
    rows = store.conn.execute(
        "SELECT address, state, token, message_id, attempts FROM deliveries ORDER BY id"
    ).fetchall()
    assert [tuple(row) for row in rows] == [
        ("ann@example.org", "in_flight", "tok", maker("ann@example.org"), 1),
        ("bob@example.org", "in_flight", None, "<new@x>", 1),
    ]
    # Either kind of step still refuses a delivery not claimed.
    for step in (kept, st.InFlight(bob.id, None, "<new@x>")):
        with pytest.raises(StoreError, match="cannot move to 'in_flight'"):
            st.record_steps(store, [step], [], now=NOW)


def test_recipient_message_id_takes_the_stored_one_only_when_it_is_it() -> None:
    made = make_message_id("nov", "ann@example.org", DOMAIN)
    stored = message_id_maker("nov", DOMAIN)("ann@example.org")
    assert recipient_message_id(stored, "nov", "ann@example.org", DOMAIN) is stored
    assert recipient_message_id(None, "nov", "ann@example.org", DOMAIN) == made
    # The sender's domain changed (--force): this campaign's Message-ID is made again.
    other = make_message_id("nov", "ann@example.org", "other.example")
    assert recipient_message_id(other, "nov", "ann@example.org", DOMAIN) == made
    # A campaign whose label ends like this one's is not taken for it.
    longer = make_message_id("old-nov", "ann@example.org", DOMAIN)
    assert recipient_message_id(longer, "nov", "ann@example.org", DOMAIN) == made


def test_a_send_writes_and_keeps_each_recipients_message_id(tmp_path: Path, db_path: Path) -> None:
    # A resumed campaign whose rows an earlier build left without a Message-ID (pending, and
    # claimed by a killed run), or with one of another sender domain (changed with --force):
    # every message goes out with make_message_id's, and the row holds the same one.
    write_campaign(tmp_path, "email\r\n" + "".join(f"p{n}@example.org\r\n" for n in range(6)))
    with ScriptedServer() as server:
        campaign = load_campaign(options(tmp_path, server.port, concurrency=2))
        send_campaign(db_path, campaign, SendOptions(check_dns=False, limit=2))
        with Store(db_path) as store:
            store.conn.execute(
                "UPDATE deliveries SET message_id = NULL WHERE address IN"
                " ('p2@example.org', 'p3@example.org')"
            )
            store.conn.execute(
                "UPDATE deliveries SET state = 'claimed' WHERE address = 'p3@example.org'"
            )
            store.conn.execute(
                "UPDATE deliveries SET message_id = ? WHERE address = 'p4@example.org'",
                (make_message_id("nov", "p4@example.org", "old.example"),),
            )
        send_campaign(db_path, campaign, offline())
        sent = {m.rcpt_tos[0]: message_from_bytes(m.data)["Message-ID"] for m in server.received}
    with Store(db_path) as store:
        stored = _message_ids(store, 1)
    expected = {a: make_message_id("nov", a, campaign.message_domain) for a in stored}
    assert len(sent) == 6 and sent == stored == expected
