"""resubscribe (with consent), unsubscribe, forget and import: library and command line."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from reportdata import Recipient, build_campaign, events_of, suppress_now

from mailbounce import people
from mailbounce.errors import ConsentRequiredError, UsageError
from mailbounce.models import SuppressionCause
from mailbounce.report import build_report
from mailbounce.store import Store
from mailbounce.store.contacts import suppression_of

SECRET = b"0123456789abcdef-test-secret"
LIST = "Nom;Prénom;Adresse e-mail\r\nMartin;Élodie;elodie@orange.fr\r\nRoux;Gérard;\r\n"


def _status(db: Path, address: str) -> str | None:
    with Store(db) as store:
        found = suppression_of(store, address)
    return str(found.cause) if found else None


def test_resubscribe_lifts_invalid_and_logs_it(db_path: Path) -> None:
    suppress_now(db_path, "jean@free.fr", SuppressionCause.INVALID, "userunknown")
    with Store(db_path) as store:
        changes = people.resubscribe(store, ["Jean@Free.fr"])
    assert [c.to_dict() for c in changes] == [
        {"address": "jean@free.fr", "before": "invalid", "after": "recipient", "changed": True}
    ]
    assert _status(db_path, "jean@free.fr") is None
    assert events_of(db_path, "jean@free.fr")[-1]["type"] == "unsuppress"


@pytest.mark.parametrize("cause", [SuppressionCause.UNSUBSCRIBED, SuppressionCause.COMPLAINED])
def test_self_unsubscribed_needs_consent_and_nothing_changes_without(
    db_path: Path, cause: SuppressionCause
) -> None:
    suppress_now(db_path, "marie@orange.fr", cause)
    suppress_now(db_path, "jean@free.fr", SuppressionCause.INVALID)
    with Store(db_path) as store, pytest.raises(ConsentRequiredError) as caught:
        people.resubscribe(store, ["jean@free.fr", "marie@orange.fr"], consent="  ")
    message = str(caught.value)
    assert "marie@orange.fr" in message and "GDPR" in message and "--consent" in message
    assert "reputation" in message
    # all or nothing: the invalid address was not resubscribed either
    assert _status(db_path, "jean@free.fr") == "invalid"
    assert _status(db_path, "marie@orange.fr") == str(cause)


def test_consent_is_recorded_with_its_date(db_path: Path) -> None:
    suppress_now(db_path, "marie@orange.fr", SuppressionCause.UNSUBSCRIBED)
    with Store(db_path) as store:
        people.resubscribe(store, ["marie@orange.fr"], consent="phoned on 2026-11-27")
    event = events_of(db_path, "marie@orange.fr")[-1]
    assert event["type"] == "unsuppress"
    assert event["consent"] == "phoned on 2026-11-27"
    assert event["consent_at"].startswith("20")
    assert event["previous_cause"] == "unsubscribed"


def test_resubscribing_a_recipient_changes_nothing(db_path: Path) -> None:
    with Store(db_path) as store:
        (change,) = people.resubscribe(store, ["x@y.fr"])
        assert not change.changed
        with pytest.raises(UsageError):
            people.resubscribe(store, [" "])


def test_unsubscribe_overrides_invalid_so_consent_is_then_needed(db_path: Path) -> None:
    suppress_now(db_path, "jean@free.fr", SuppressionCause.INVALID)
    with Store(db_path) as store:
        (change,) = people.unsubscribe(store, ["jean@free.fr"])
        assert (change.before, change.after) == ("invalid", "unsubscribed")
        (again,) = people.unsubscribe(store, ["jean@free.fr"])
        assert not again.changed
        with pytest.raises(ConsentRequiredError):
            people.resubscribe(store, ["jean@free.fr"])


def test_forget_key_is_keyed_and_normalised() -> None:
    key = people.forget_key(SECRET, " <Jean@Free.FR> ")
    assert key == people.forget_key(SECRET, "jean@free.fr")
    assert key.startswith("hmac-sha256:") and len(key) == len("hmac-sha256:") + 64
    assert key != people.forget_key(b"another-secret-of-16+", "jean@free.fr")


def test_forget_erases_everything_but_the_keyed_hash(db_path: Path, tmp_path: Path) -> None:
    csv_file = tmp_path / "membres.csv"
    csv_file.write_text(LIST, encoding="utf-8")
    with Store(db_path) as store:
        people.import_members(store, csv_file)
    build_campaign(
        db_path,
        "c",
        [
            Recipient(
                "elodie@orange.fr",
                deferrals=["greylisted"],
                bounces=[{"reason": "mailboxfull", "kind": "temporary", "diagnostic": "full"}],
            )
        ],
    )
    with Store(db_path) as store:
        (change,) = people.forget(store, ["elodie@orange.fr"], SECRET)
        assert change.after == "forgotten"
        assert people.is_forgotten(store, "Elodie@orange.fr", SECRET)
        assert not people.is_forgotten(store, "other@orange.fr", SECRET)
        dump = "\n".join(store.conn.iterdump())
    assert "elodie@orange.fr" not in dump.lower()
    assert "Élodie" not in dump and "Martin" not in dump
    assert people.forget_key(SECRET, "elodie@orange.fr") in dump
    # the campaign's figures still add up, the person counted under "(forgotten)"
    with Store(db_path) as store:
        report = build_report(store, "c", "en")
    assert report.recipients == 1
    assert [d["domain"] for d in report.domains] == ["(forgotten)"]


def test_forgetting_again_after_the_address_came_back(db_path: Path) -> None:
    """Forgotten, re-added to the same campaign by hand, forgotten again: one keyed row."""
    build_campaign(db_path, "c", [Recipient("elodie@orange.fr")])
    with Store(db_path) as store:
        people.forget(store, ["elodie@orange.fr"], SECRET)
    with Store(db_path) as store, store.transaction() as conn:
        conn.execute(
            "INSERT INTO deliveries (campaign_id, address, state, updated_at)"
            " SELECT id, 'elodie@orange.fr', 'pending', 'now' FROM campaigns WHERE name = 'c'"
        )
    with Store(db_path) as store:
        people.forget(store, ["elodie@orange.fr"], SECRET)
        addresses = [row[0] for row in store.conn.execute("SELECT address FROM deliveries")]
    assert addresses == [people.forget_key(SECRET, "elodie@orange.fr")]


def test_a_forgotten_person_is_not_reimported(db_path: Path, tmp_path: Path) -> None:
    csv_file = tmp_path / "membres.csv"
    csv_file.write_text(LIST, encoding="utf-8")
    with Store(db_path) as store:
        people.forget(store, ["elodie@orange.fr"], SECRET)
        result = people.import_members(store, csv_file, name="club", secret=SECRET)
        assert result.forgotten_skipped == 1
        assert result.imported.name == "club"
        assert result.imported.without_address == 1
        dump = "\n".join(store.conn.iterdump())
    assert "elodie@orange.fr" not in dump


def _cli(
    db: Path, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "mailbounce", "--db", str(db), *args],
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        env={**os.environ, **(env or {})},
        timeout=60,
        check=False,
    )


def test_cli_refuses_without_consent_never_prompts_and_exits_1(db_path: Path) -> None:
    suppress_now(db_path, "marie@orange.fr", SuppressionCause.UNSUBSCRIBED)
    result = _cli(db_path, "resubscribe", "marie@orange.fr")
    assert result.returncode == 1
    assert result.stderr.startswith("mailbounce: not resubscribed: marie@orange.fr")
    assert "Traceback" not in result.stderr
    done = _cli(db_path, "resubscribe", "marie@orange.fr", "--consent", "email of 27/11")
    assert done.returncode == 0, done.stderr
    assert '"after": "recipient"' in done.stdout


def test_cli_import_forget_and_missing_secret(db_path: Path, tmp_path: Path) -> None:
    csv_file = tmp_path / "membres.csv"
    csv_file.write_text(LIST, encoding="utf-8")
    imported = _cli(db_path, "import", str(csv_file), "--list-name", "Club")
    assert imported.returncode == 0, imported.stderr
    assert "list 'Club': 1 member(s)" in imported.stderr
    missing = _cli(db_path, "import", str(tmp_path / "nope.csv"))
    assert (missing.returncode, missing.stderr.strip()) == (
        1,
        f"mailbounce: {tmp_path / 'nope.csv'}: no such file",
    )
    no_secret = _cli(db_path, "forget", "elodie@orange.fr", env={"MAILBOUNCE_TRACKING_SECRET": ""})
    assert no_secret.returncode == 1 and "tracking secret is not set" in no_secret.stderr
    forgot = _cli(
        db_path, "forget", "elodie@orange.fr", env={"MAILBOUNCE_TRACKING_SECRET": SECRET.decode()}
    )
    assert forgot.returncode == 0, forgot.stderr
    assert _status(db_path, "elodie@orange.fr") is None
