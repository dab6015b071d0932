"""Correlation of a bounce to its campaign and delivery: token, Message-ID, address."""

from __future__ import annotations

from pathlib import Path

import pytest

from mailbounce.correlate import Correlation, DeliveryCache, Method, correlate
from mailbounce.store import Store
from mailbounce.tracking import make_token

SECRET = b"correlation-secret-0123456789"


@pytest.fixture
def store(db_path: Path) -> Store:
    store = Store(db_path)
    with store.transaction():
        for name, when in (
            ("sept", "2026-09-01T08:00:00+00:00"),
            ("nov", "2026-11-01T08:00:00+00:00"),
        ):
            campaign = store.conn.execute(
                "INSERT INTO campaigns (name, created_at) VALUES (?, ?) RETURNING id", (name, when)
            ).fetchone()[0]
            for address, state in (("jean@orange.fr", "sent"), ("marie@free.fr", "pending")):
                store.conn.execute(
                    "INSERT INTO deliveries (campaign_id, address, state, message_id,"
                    " last_attempt_at, updated_at) VALUES (?, ?, ?, ?, ?, ?)",
                    (campaign, address, state, f"<{name}.{address}>", when, when),
                )
    return store


def _delivery(store: Store, campaign: str, address: str) -> tuple[int, int]:
    row = store.conn.execute(
        "SELECT d.campaign_id, d.id FROM deliveries d JOIN campaigns c ON c.id = d.campaign_id"
        " WHERE c.name = ? AND d.address = ?",
        (campaign, address),
    ).fetchone()
    return int(row[0]), int(row[1])


def test_signed_token_wins(store: Store) -> None:
    campaign_id, delivery_id = _delivery(store, "sept", "jean@orange.fr")
    token = make_token(SECRET, campaign_id, delivery_id)
    found = correlate(
        store,
        recipient="jean@orange.fr",
        tokens=("garbage", token),
        original_message_id="<nov.jean@orange.fr>",
        secret=SECRET,
    )
    assert found.method is Method.TOKEN
    assert found.delivery is not None and found.delivery.delivery_id == delivery_id
    assert found.campaign == "sept"


def test_forged_token_is_ignored(store: Store) -> None:
    campaign_id, delivery_id = _delivery(store, "sept", "jean@orange.fr")
    forged = make_token(b"someone-elses-secret-123456", campaign_id, delivery_id)
    found = correlate(
        store,
        recipient="jean@orange.fr",
        tokens=(forged,),
        original_message_id="<sept.jean@orange.fr>",
        secret=SECRET,
    )
    assert found.method is Method.FORGED and not found.trusted and found.delivery is None


def test_without_secret_tokens_cannot_be_checked(store: Store) -> None:
    found = correlate(
        store,
        recipient="jean@orange.fr",
        tokens=("whatever",),
        original_message_id="sept.jean@orange.fr",  # brackets optional
        secret=None,
    )
    assert (found.method, found.campaign) == (Method.MESSAGE_ID, "sept")


def test_address_falls_back_to_most_recent_sent_campaign(store: Store) -> None:
    found = correlate(
        store, recipient="Jean@Orange.fr", tokens=(), original_message_id=None, secret=SECRET
    )
    assert (found.method, found.campaign) == (Method.ADDRESS, "nov")


def test_never_sent_means_no_campaign(store: Store) -> None:
    # Marie's deliveries are still pending: nothing was sent, so no bounce can answer them.
    found = correlate(
        store, recipient="marie@free.fr", tokens=(), original_message_id=None, secret=SECRET
    )
    assert (found.method, found.delivery) == (Method.NONE, None)


_LOOKUPS = [
    ("jean@orange.fr", "<sept.jean@orange.fr>"),
    ("JEAN@orange.fr", "nov.jean@orange.fr"),
    ("jean@orange.fr", "<unknown@x>"),
    ("jean@orange.fr", None),
    ("marie@free.fr", "<nov.marie@free.fr>"),
    ("marie@free.fr", None),
    ("nobody@example.org", None),
]


def test_batch_cache_gives_the_answers_of_the_store(store: Store) -> None:
    """A batch's look-ups answered from two queries are the one-by-one answers, also after
    the batch changed a delivery (``forget``)."""
    cache = DeliveryCache(
        store,
        message_ids=[mid for _, mid in _LOOKUPS if mid],
        addresses=[address for address, _ in _LOOKUPS],
    )

    def both(address: str, mid: str | None) -> tuple[Correlation, Correlation]:
        cached = correlate(
            store, recipient=address, tokens=(), original_message_id=mid, secret=SECRET, cache=cache
        )
        direct = correlate(
            store, recipient=address, tokens=(), original_message_id=mid, secret=SECRET
        )
        return cached, direct

    for address, mid in _LOOKUPS:
        cached, direct = both(address, mid)
        assert cached == direct
    _, delivery_id = _delivery(store, "nov", "jean@orange.fr")
    store.conn.execute(
        "UPDATE deliveries SET state = 'failed', last_attempt_at = NULL,"
        " updated_at = '2026-08-01T00:00:00+00:00' WHERE id = ?",
        (delivery_id,),
    )
    changed = correlate(
        store, recipient="jean@orange.fr", tokens=(), original_message_id=None, secret=SECRET
    )
    assert changed.campaign == "sept"  # the changed delivery now sorts older
    nov = cache.latest_to("jean@orange.fr")
    assert nov is not None
    cache.forget(nov)
    for address, mid in _LOOKUPS:
        cached, direct = both(address, mid)
        assert cached == direct


def test_batch_cache_without_deliveries_asks_nothing_more(
    db_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A store without any delivery (a first parse): the batch's answers are all None
    without the two queries, and addresses given normalised are used as they are."""
    import mailbounce.correlate as correlate_module

    with Store(db_path) as empty:
        for name in ("deliveries_by_message_ids", "latest_deliveries_to"):
            monkeypatch.setattr(correlate_module, name, lambda *a, n=name: pytest.fail(n))
        cache = DeliveryCache(
            empty,
            message_ids=["<nov.1@asso.example>"],
            addresses=[" <Jean@Orange.fr>"],
            keys={" <Jean@Orange.fr>": "jean@orange.fr"},
        )
        assert cache.by_message_id("<nov.1@asso.example>") is None
        assert cache.latest_to(" <Jean@Orange.fr>") is None
        assert cache.latest_to("jean@orange.fr") is None
