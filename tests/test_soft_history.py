"""A soft-failure history read as a count and its first and last dates
(``store.bounces.soft_histories_of``) gives ``decide`` what the list of every date gave:
as many readable dates, the same first and last, whatever texts the store holds."""

from __future__ import annotations

import random
from dataclasses import replace
from datetime import datetime
from pathlib import Path

import pytest

from mailbounce.models import BounceRecord, Kind, Party, Reason
from mailbounce.soft_history import SoftHistory, is_canonical
from mailbounce.store import Store
from mailbounce.store import bounces as bounce_store
from mailbounce.suppression import parse_when

SOFT = BounceRecord(
    source="/var/mail/bounces:1",
    message_id=None,
    recipient="lea@sfr.fr",
    action="failed",
    status="4.2.2",
    replycode="452",
    reason=Reason.MAILBOXFULL,
    kind=Kind.TEMPORARY,
    hardbounce=False,
    party=Party.RECIPIENT,
    diagnostic="452 4.2.2 Mailbox full",
    remote_mta=None,
    reporting_mta=None,
    feedback_type=None,
    date=None,
    original_message_id=None,
    campaign=None,
    detector="rfc3464",
)
TEXTS = [
    "2026-11-20T10:00:00+00:00",
    "2026-11-03T23:59:59+00:00",
    "2026-12-31T00:00:00+00:00",
    "2026-11-20T12:00:00+02:00",  # another zone: its text order is not its time order
    "2026-11-01T09:00:00",  # no zone
    "2026-11-25 08:00:00+00:00",  # a blank for the T
    "2026-02-30T10:00:00+00:00",  # off the calendar (SQLite moves it to March)
    "2026-02-29T10:00:00+00:00",
    "2024-02-29T10:00:00+00:00",
    "2026-11-20T24:00:00+00:00",  # SQLite reads it as the next day, Python refuses it
    "2026-11-20T10:60:00+00:00",
    "2026-11-20T10:00:60+00:00",
    "2026-13-01T10:00:00+00:00",
    "0000-01-01T00:00:00+00:00",  # before Python's year 1
    "0001-01-01T00:00:00+00:00",
    "9999-12-31T23:59:59+00:00",
    "2026-11-20T10:00:00.500000+00:00",
    "yesterday",
    "",
]


def _old_dates(texts: list[str]) -> list[datetime]:
    """What ``Recorder`` gave ``decide`` before: every text parsed, unreadable ones left out."""
    return [when for when in map(parse_when, sorted(texts)) if when is not None]


def _summary(dates: list[datetime]) -> tuple[int, datetime | None, datetime | None]:
    return len(dates), min(dates, default=None), max(dates, default=None)


@pytest.mark.parametrize("seed", range(40))
def test_a_history_read_from_the_store_gives_decide_the_same(db_path: Path, seed: int) -> None:
    chosen = random.Random(seed).choices(TEXTS, k=random.Random(seed).randint(0, 9))
    with Store(db_path) as store:
        for number, text in enumerate(chosen):
            record = replace(SOFT, date=text or None)
            recorded = "2026-11-28T20:00:00+00:00" if not text else None
            bounce_store.insert_bounce(
                store,
                record,
                source_key=f"<{number}@x>",
                campaign_id=None,
                delivery_id=None,
                recorded_at=recorded,
            )
        stored = [text or "2026-11-28T20:00:00+00:00" for text in chosen]
        history = bounce_store.soft_histories_of(store, ["Lea@SFR.fr", "jean@orange.fr"])
    assert set(history) == {"lea@sfr.fr", "jean@orange.fr"}
    assert _summary(history["lea@sfr.fr"].dates()) == _summary(_old_dates(stored))
    assert history["jean@orange.fr"].dates() == []


@pytest.mark.parametrize("seed", range(40))
def test_a_history_kept_in_memory_gives_decide_the_same(seed: int) -> None:
    chosen = random.Random(seed).choices(TEXTS, k=random.Random(seed).randint(0, 9))
    history = SoftHistory()
    for text in chosen:
        history.add(text)
    assert _summary(history.dates()) == _summary(_old_dates(chosen))


def test_the_stored_form_is_what_every_build_writes() -> None:
    from mailbounce.bounce_dates import iso_date
    from mailbounce.store.db import utcnow

    assert is_canonical(utcnow())
    assert is_canonical(iso_date("Fri, 20 Nov 2026 11:00:00 +0100") or "")
    assert is_canonical(iso_date("20 Nov 2026 10:00 EST") or "")
    for text in TEXTS[3:8] + TEXTS[9:14] + TEXTS[16:]:
        assert not is_canonical(text), text
