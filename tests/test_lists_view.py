"""mailbounce lists [NAME]: the four parts of a list, with counts, members and "see why"."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from reportdata import suppress_now

from mailbounce.errors import NotFoundError
from mailbounce.models import SuppressionCause
from mailbounce.people import import_members
from mailbounce.profiles import list_views
from mailbounce.store import Store

CLUB = (
    "Nom;Prénom;Adresse e-mail\r\n"
    "Martin;Élodie;elodie@orange.fr\r\n"
    "Bernard;François;francois@wanadoo.fr\r\n"
    "Dubois;Hélène;helene@free.fr\r\n"
    "Roux;Gérard;\r\n"
    "Fournier;Stéphane;stephane.orange.fr\r\n"
    "Petit;Loïc;loic@yahoo.fr\r\n"
)


@pytest.fixture
def club_db(db_path: Path, tmp_path: Path) -> Path:
    path = tmp_path / "club.csv"
    path.write_bytes(CLUB.encode("cp1252"))
    other = tmp_path / "bureau.csv"
    other.write_text("email\nelodie@orange.fr\n", encoding="utf-8")
    with Store(db_path) as store:
        import_members(store, path)
        import_members(store, other)
    suppress_now(db_path, "francois@wanadoo.fr", SuppressionCause.UNSUBSCRIBED)
    suppress_now(db_path, "loic@yahoo.fr", SuppressionCause.COMPLAINED)
    suppress_now(db_path, "helene@free.fr", SuppressionCause.INVALID, "userunknown")
    return db_path


def test_four_parts_with_members(club_db: Path) -> None:
    with Store(club_db) as store:
        (view,) = list_views(store, "club", "en")
    assert view.counts() == {
        "recipients": 1,
        "unsubscribed": 2,
        "without_address": 1,
        "invalid": 2,
    }
    assert [m["address"] for m in view.parts["recipients"]] == ["elodie@orange.fr"]
    assert view.parts["without_address"] == [{"line": 5, "display": "Gérard Roux"}]
    invalid = {m["address"]: m for m in view.parts["invalid"]}
    assert invalid["helene@free.fr"]["label"] == "Address does not exist"
    assert invalid["helene@free.fr"]["see_why"] == "mailbounce explain helene@free.fr"
    assert invalid["stephane.orange.fr"]["label"] == "Badly written address: missing @"
    causes = {m["address"]: m["cause"] for m in view.parts["unsubscribed"]}
    assert causes == {"francois@wanadoo.fr": "unsubscribed", "loic@yahoo.fr": "complained"}


def test_every_list_without_a_name(club_db: Path) -> None:
    with Store(club_db) as store:
        views = list_views(store, None, "fr")
        assert [v.name for v in views] == ["bureau", "club"]
        assert views[0].counts()["recipients"] == 1
        with pytest.raises(NotFoundError, match="no list named 'x' \\(known: bureau, club\\)"):
            list_views(store, "x", "fr")


def test_parts_sum_to_the_list_rows(club_db: Path) -> None:
    with Store(club_db) as store:
        (view,) = list_views(store, "club", "fr")
    assert sum(view.counts().values()) == CLUB.count("\r\n") - 1


def test_cli_table_and_json(club_db: Path) -> None:
    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "mailbounce", "--db", str(club_db), "lists", *args],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )

    table = run("club", "-f", "table", "--lang", "fr")
    assert table.returncode == 0, table.stderr
    assert "Identifiés comme invalides: 2" in table.stdout
    assert "voir pourquoi: mailbounce explain helene@free.fr" in table.stdout
    data = json.loads(run("-f", "json").stdout)
    assert [item["name"] for item in data] == ["bureau", "club"]
    assert data[1]["counts"]["invalid"] == 2
    missing = run("nope")
    assert missing.returncode == 1 and "no list named 'nope'" in missing.stderr
