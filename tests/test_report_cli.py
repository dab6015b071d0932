"""mailbounce report on the command line: formats, --output, --lang and LANG, exit codes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from reportdata import build_campaign, sample_recipients


def _run(db: Path, *args: str, lang: str = "C.UTF-8") -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LC_")}
    env["LANG"] = lang
    return subprocess.run(
        [sys.executable, "-m", "mailbounce", "--db", str(db), "report", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )


@pytest.fixture
def sample_db(db_path: Path) -> Path:
    build_campaign(db_path, "nov-2026", sample_recipients())
    return db_path


def test_language_follows_lang_unless_given(sample_db: Path) -> None:
    assert "Rejets permanents" in _run(sample_db, lang="fr_FR.UTF-8").stdout
    assert "Permanent rejections" in _run(sample_db, lang="en_US.UTF-8").stdout
    assert "Permanent rejections" in _run(sample_db, "--lang", "en", lang="fr_FR.UTF-8").stdout
    bad = _run(sample_db, "--lang", "de")
    assert bad.returncode == 2 and "unknown language 'de'" in bad.stderr


def test_output_file_takes_its_format_from_the_suffix(sample_db: Path, tmp_path: Path) -> None:
    for name, check in (
        ("r.html", lambda text: text.startswith("<!DOCTYPE html>")),
        ("r.json", lambda text: json.loads(text)["recipients"] == 15),
        ("r.md", lambda text: text.startswith("# Campaign report")),
        ("r.csv", lambda text: text.startswith("address,outcome,reason")),
    ):
        target = tmp_path / name
        result = _run(sample_db, "nov-2026", "--output", str(target))
        assert result.returncode == 0, result.stderr
        assert result.stdout == ""
        assert f"report written to {target}" in result.stderr
        assert check(target.read_text(encoding="utf-8")), name


def test_unwritable_output_is_a_one_line_error(sample_db: Path, tmp_path: Path) -> None:
    result = _run(sample_db, "--output", str(tmp_path / "missing" / "r.html"))
    assert result.returncode == 1
    assert result.stderr.startswith("mailbounce: ") and "Traceback" not in result.stderr


def test_unknown_campaign_exit_1(sample_db: Path) -> None:
    result = _run(sample_db, "nope", "--format", "json")
    assert result.returncode == 1
    assert result.stderr.strip() == "mailbounce: no campaign named 'nope' (known: nov-2026)"
    assert result.stdout == ""


def test_limit_and_all_choose_how_many_rejections_are_listed(db_path: Path) -> None:
    build_campaign(db_path, "nov-2026", sample_recipients())
    two = _run(db_path, "--format", "json", "--limit", "2", "--lang", "en")
    assert two.returncode == 0, two.stderr
    data = json.loads(two.stdout)
    assert len(data["rejected"]) == 2 and data["rejected_total"] == 7
    table = _run(db_path, "--limit", "2", "--lang", "en").stdout
    assert "… and 5 more: `mailbounce report nov-2026 --format csv` exports them all" in table
    every = json.loads(_run(db_path, "--format", "json", "--limit", "2", "--all").stdout)
    assert len(every["rejected"]) == 7
    negative = _run(db_path, "--limit", "-1")
    assert negative.returncode == 2 and "Traceback" not in negative.stderr
