"""mailbounce contact ADDRESS: status, lists, each campaign's outcome, rejection history."""

from __future__ import annotations

from pathlib import Path

import pytest
from reportdata import Recipient, build_campaign, suppress_now

from mailbounce.errors import NotFoundError
from mailbounce.models import SuppressionCause
from mailbounce.people import import_members
from mailbounce.profiles import contact_profile
from mailbounce.store import Store


@pytest.fixture
def history_db(db_path: Path, tmp_path: Path) -> Path:
    members = tmp_path / "membres.csv"
    members.write_text("prenom,nom,email\nJean,Girard,jean@free.fr\n", encoding="utf-8")
    with Store(db_path) as store:
        import_members(store, members)
    build_campaign(
        db_path,
        "sept",
        [Recipient("jean@free.fr", deferrals=["greylisted"])],
        created_at="2026-09-01T00:00:00+00:00",
    )
    build_campaign(
        db_path,
        "oct",
        [
            Recipient(
                "jean@free.fr",
                state="deferred",
                reason="mailboxfull",
                kind="temporary",
                party="recipient",
                status="4.2.2",
                reply="452 4.2.2 Mailbox full",
            )
        ],
        created_at="2026-10-01T00:00:00+00:00",
    )
    build_campaign(
        db_path,
        "nov",
        [
            Recipient(
                "jean@free.fr",
                bounces=[
                    {
                        "reason": "userunknown",
                        "kind": "permanent",
                        "status": "5.1.1",
                        "hardbounce": True,
                        "diagnostic": "550 5.1.1 <jean@free.fr>: User unknown",
                    }
                ],
            )
        ],
    )
    suppress_now(db_path, "jean@free.fr", SuppressionCause.INVALID, "userunknown")
    return db_path


def test_profile_has_status_lists_campaigns_and_history(history_db: Path) -> None:
    with Store(history_db) as store:
        profile = contact_profile(store, "JEAN@free.fr", "fr")
    assert profile.address == "jean@free.fr"
    assert profile.name == "Jean Girard"
    assert (profile.status, profile.status_label) == ("invalid", "identifié comme invalide")
    assert profile.lists == ["membres"]
    assert [(c["campaign"], c["outcome"]) for c in profile.campaigns] == [
        ("sept", "accepted"),
        ("oct", "deferred"),
        ("nov", "permanent"),
    ]
    reasons = [(r["campaign"], r["reason"]) for r in profile.rejections]
    assert reasons == [("oct", "mailboxfull"), ("nov", "userunknown")]
    latest = profile.rejections[-1]
    assert latest["diagnostic"] == "550 5.1.1 <jean@free.fr>: User unknown"
    assert latest["label"] == "Adresse inexistante"
    assert "faute de frappe" in latest["advice"]
    assert profile.rejections[0]["marked_invalid"] == "après des échecs répétés"


def test_unknown_contact(db_path: Path) -> None:
    with Store(db_path) as store, pytest.raises(NotFoundError, match="no contact"):
        contact_profile(store, "nobody@example.org", "en")
