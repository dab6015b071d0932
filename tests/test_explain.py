"""mailbounce explain REASON|STATUS|ADDRESS: the "see why" view."""

from __future__ import annotations

from pathlib import Path

import pytest
from reportdata import Recipient, build_campaign, suppress_now

from mailbounce.errors import NotFoundError
from mailbounce.models import SuppressionCause
from mailbounce.profiles import explain_target, needs_store
from mailbounce.store import Store


@pytest.mark.parametrize(
    ("target", "reason", "invalid"),
    [
        ("mailboxfull", "mailboxfull", "after repeated failures"),
        ("MailboxFull", "mailboxfull", "after repeated failures"),
        ("5.1.1", "userunknown", "yes, at once"),
        ("4.2.2", "mailboxfull", "after repeated failures"),
        ("5.7.26", "authfailure", "no"),
        ("5.1.2", "hostunknown", "yes, at once"),
        ("greylisted", "greylisted", "no"),
        ("feedback", "feedback", "moved to unsubscribed"),
        ("notaccept", "notaccept", "yes, when permanent"),
        ("5.3.2", "notaccept", "yes, at once"),
    ],
)
def test_reasons_and_status_codes(target: str, reason: str, invalid: str) -> None:
    item = explain_target(None, target, "en")
    assert item.advice.reason == reason
    assert item.marked_invalid == invalid
    assert item.target_kind == ("status" if target[0].isdigit() else "reason")


def test_unknown_reason_says_so_and_what_to_collect() -> None:
    for target in ("undefined", "onhold", "unknown"):
        item = explain_target(None, target, "fr")
        assert item.unknown
        assert "inconnue" in item.advice.explanation
        assert "en-têtes" in item.advice.advice and "journal" in item.advice.advice


def test_an_address_shows_its_latest_rejection(db_path: Path) -> None:
    build_campaign(
        db_path,
        "oct",
        [
            Recipient(
                "jean@free.fr",
                state="deferred",
                reason="mailboxfull",
                kind="temporary",
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
                        "diagnostic": "550 5.1.1 user unknown",
                        "date": "2026-11-21T08:00:00+00:00",
                    }
                ],
            )
        ],
    )
    suppress_now(db_path, "jean@free.fr", SuppressionCause.INVALID, "userunknown")
    with Store(db_path) as store:
        item = explain_target(store, "Jean@free.fr", "en")
    assert item.target_kind == "address"
    assert item.status == "invalid"
    assert item.advice.reason == "userunknown"
    assert item.rejection is not None
    assert item.rejection["diagnostic"] == "550 5.1.1 user unknown"
    assert item.rejection["campaign"] == "nov"


def test_an_address_whose_server_gave_no_reason(db_path: Path) -> None:
    build_campaign(
        db_path,
        "c",
        [Recipient("x@example.org", bounces=[{"reason": "undefined", "kind": "permanent"}])],
    )
    with Store(db_path) as store:
        item = explain_target(store, "x@example.org", "en")
    assert item.unknown
    assert "the reason is unknown" in item.advice.explanation
    assert "log line" in item.advice.advice


def test_unknown_targets_are_clear_errors(db_path: Path) -> None:
    with Store(db_path) as store, pytest.raises(NotFoundError, match="neither a reason"):
        explain_target(store, "nobody@example.org", "en")
    with pytest.raises(NotFoundError, match="neither a reason"):
        explain_target(None, "blah", "en")
    assert not needs_store("5.1.1") and not needs_store("userunknown")
    assert needs_store("a@b.fr")
