"""mailbounce report: totals, reasons, domains, sender problems, rejected list, formats."""

from __future__ import annotations

import csv
import html
import io
import json
from pathlib import Path

import pytest
from reportdata import NOW, Recipient, build_campaign, sample_recipients

from mailbounce.errors import NotFoundError, UsageError
from mailbounce.report import DEFAULT_LIMIT, OUTCOMES, build_report
from mailbounce.report_text import ReportFormat, atomic_output, write_report
from mailbounce.store import Store


@pytest.fixture
def sample_db(db_path: Path) -> Path:
    build_campaign(db_path, "nov-2026", sample_recipients())
    return db_path


def _render(
    db: Path,
    fmt: ReportFormat,
    lang: str = "en",
    campaign: str | None = None,
    limit: int | None = DEFAULT_LIMIT,
) -> str:
    out = io.StringIO()
    with Store(db) as store:
        write_report(build_report(store, campaign, lang, limit=limit), fmt, out)
    return out.getvalue()


def test_totals_add_up_and_name_each_outcome(sample_db: Path) -> None:
    with Store(sample_db) as store:
        report = build_report(store, None, "en")
    assert report.recipients == len(sample_recipients()) == 15
    expected = {
        "accepted": 3,  # marie (greylisted then accepted), paul, luc
        "deferred": 1,  # plein@sfr.fr
        "temporary": 1,  # lent@sfr.fr expired
        "permanent": 5,  # inconnu, spam, bloque, later (bounce after sent), vague
        "complaint": 1,
        "uncertain": 1,
        "pending": 1,
        "skipped_unsubscribed": 1,
        "skipped_invalid": 1,
    }
    assert {k: v for k, v in report.totals.items() if v} == expected
    assert list(report.totals)[: len(OUTCOMES)] == list(OUTCOMES)


def test_reasons_carry_label_kind_invalid_and_advice(sample_db: Path) -> None:
    with Store(sample_db) as store:
        reasons = {row["reason"]: row for row in build_report(store, None, "en").reasons}
    assert reasons["userunknown"]["count"] == 2
    assert reasons["userunknown"]["label"] == "Address does not exist"
    assert reasons["userunknown"]["marked_invalid"] == "yes, at once"
    assert reasons["userunknown"]["advice"].startswith("Check the address for a typo")
    assert reasons["spamdetected"]["marked_invalid"] == "no"
    assert reasons["spamdetected"]["party"] == "content"
    assert reasons["feedback"]["kind"] == "complaint"
    assert reasons["speeding"]["kind"] == "temporary"


def test_sender_problems_list_sender_and_content_reasons_with_the_fix(sample_db: Path) -> None:
    with Store(sample_db) as store:
        problems = build_report(store, None, "fr").sender_problems
    assert {p["reason"] for p in problems} == {"blocked", "spamdetected", "speeding"}
    blocked = next(p for p in problems if p["reason"] == "blocked")
    assert "liste de blocage" in blocked["fix"]


def test_no_sender_block_when_only_recipients_failed(db_path: Path) -> None:
    build_campaign(
        db_path,
        "c",
        [Recipient("x@free.fr", state="failed", reason="userunknown", kind="permanent")],
    )
    with Store(db_path) as store:
        report = build_report(store, None, "en")
    assert report.sender_problems == []
    assert "Sender problems" not in _render(db_path, ReportFormat.TABLE)


def test_domains_show_rate_greylisting_and_throttling(sample_db: Path) -> None:
    with Store(sample_db) as store:
        domains = {row["domain"]: row for row in build_report(store, None, "en").domains}
    assert domains["orange.fr"] == {
        "domain": "orange.fr",
        "recipients": 2,
        "rejected": 0,
        "rate": 0.0,
        "greylisted": 1,
        "throttled": 0,
    }
    assert domains["sfr.fr"]["throttled"] == 1
    assert domains["free.fr"]["rate"] == 0.5
    # skipped recipients are not "tried": gmail has luc + attente (pending), not the 2 skipped
    assert domains["gmail.com"]["recipients"] == 2


def test_rejected_list_has_reason_date_and_see_why(sample_db: Path) -> None:
    with Store(sample_db) as store:
        rows = list(build_report(store, None, "en").rejected())
    by_address = {row["address"]: row for row in rows}
    assert set(by_address) == {
        "bloque@outlook.fr",
        "fache@yahoo.fr",
        "inconnu@free.fr",
        "later@wanadoo.fr",
        "lent@sfr.fr",
        "spam@laposte.net",
        "vague@example.org",
    }
    later = by_address["later@wanadoo.fr"]
    assert (later["reason"], later["outcome"], later["status"]) == (
        "userunknown",
        "permanent",
        "5.1.1",
    )
    assert later["date"] == NOW
    assert later["see_why"] == "mailbounce explain later@wanadoo.fr"
    assert by_address["fache@yahoo.fr"]["reason"] == "feedback"


@pytest.mark.parametrize("lang", ["fr", "en"])
def test_every_format_is_in_the_chosen_language(sample_db: Path, lang: str) -> None:
    words = {"fr": "Rejets permanents", "en": "Permanent rejections"}
    for fmt in (ReportFormat.TABLE, ReportFormat.MARKDOWN, ReportFormat.HTML):
        text = _render(sample_db, fmt, lang)
        assert words[lang] in text, fmt
        assert words["en" if lang == "fr" else "fr"] not in text, fmt
    data = json.loads(_render(sample_db, ReportFormat.JSON, lang))
    assert data["lang"] == lang


def test_csv_is_the_rejected_list_with_formulas_neutralised(db_path: Path) -> None:
    build_campaign(
        db_path,
        "c",
        [
            Recipient(
                "evil@example.org",
                bounces=[
                    {
                        "reason": "onhold",
                        "kind": "permanent",
                        "diagnostic": '=HYPERLINK("https://evil.example")',
                    }
                ],
            ),
            Recipient("ok@example.org"),
        ],
    )
    rows = list(csv.DictReader(io.StringIO(_render(db_path, ReportFormat.CSV))))
    assert len(rows) == 1
    assert rows[0]["address"] == "evil@example.org"
    assert rows[0]["diagnostic"].startswith("'=HYPERLINK")


def test_markdown_escapes_pipes_and_lists_everything(sample_db: Path) -> None:
    text = _render(sample_db, ReportFormat.MARKDOWN)
    assert text.startswith("# Campaign report: nov-2026")
    assert "## Rejected recipients" in text
    assert "| later@wanadoo.fr |" in text
    for line in text.splitlines():
        if line.startswith("|"):
            assert line.endswith("|")


def test_last_campaign_is_the_default_and_names_are_checked(db_path: Path) -> None:
    build_campaign(db_path, "old", [Recipient("a@x.fr")], created_at="2026-01-01T00:00:00+00:00")
    build_campaign(db_path, "new", [Recipient("b@x.fr"), Recipient("c@x.fr")])
    with Store(db_path) as store:
        assert build_report(store, None, "en").campaign.name == "new"
        assert build_report(store, "old", "en").recipients == 1
        with pytest.raises(NotFoundError, match="no campaign named 'nope' \\(known: old, new\\)"):
            build_report(store, "nope", "en")
        with pytest.raises(UsageError):
            build_report(store, "old", "de")


def test_empty_database_says_to_send_first(db_path: Path) -> None:
    with Store(db_path) as store, pytest.raises(NotFoundError, match="run `mailbounce send`"):
        build_report(store, None, "en")


def test_atomic_output_leaves_the_old_file_on_failure(tmp_path: Path) -> None:
    target = tmp_path / "report.html"
    target.write_text("old", encoding="utf-8")
    with pytest.raises(RuntimeError), atomic_output(target) as out:
        out.write("half")
        raise RuntimeError("boom")
    assert target.read_text(encoding="utf-8") == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["report.html"]
    with atomic_output(target) as out:
        out.write("new")
    assert target.read_text(encoding="utf-8") == "new"


def test_table_of_a_campaign_without_rejections(db_path: Path) -> None:
    build_campaign(db_path, "calm", [Recipient("a@b.fr")])
    text = _render(db_path, ReportFormat.TABLE)
    assert text.rstrip().endswith("Rejected recipients\nNo rejections.")


def test_table_lays_out_long_rejected_lists_by_blocks(db_path: Path) -> None:
    rows = [
        Recipient(f"r{i:04d}@free.fr", state="failed", reason="userunknown", kind="permanent")
        for i in range(2500)
    ]
    build_campaign(db_path, "big", rows)
    lines = _render(db_path, ReportFormat.TABLE, limit=None).splitlines()
    start = lines.index("Rejected recipients")
    listed = [line for line in lines[start:] if line.startswith("r") and "@free.fr" in line]
    assert len(listed) == 2500
    # Most recent first; rows of the same date, the last written first.
    assert listed[0].startswith("r2499@free.fr  Address does not exist")
    assert listed[-1].startswith("r0000@free.fr  Address does not exist")
    assert "more:" not in lines[-1]


def _long_campaign(db: Path, count: int) -> None:
    rows = [
        Recipient(
            f"r{i:04d}@free.fr",
            state="failed",
            reason="userunknown",
            kind="permanent",
        )
        for i in range(count)
    ]
    build_campaign(db, "long one", rows)


@pytest.mark.parametrize("fmt", [ReportFormat.TABLE, ReportFormat.MARKDOWN, ReportFormat.HTML])
def test_screens_show_the_most_recent_rejections_and_how_to_export_the_rest(
    db_path: Path, fmt: ReportFormat
) -> None:
    _long_campaign(db_path, 250)
    text = html.unescape(_render(db_path, fmt))
    assert text.count("mailbounce explain r") == DEFAULT_LIMIT
    assert "r0249@free.fr" in text and "r0149@free.fr" not in text
    assert "… and 150 more: `mailbounce report 'long one' --format csv` exports them all" in text
    french = html.unescape(_render(db_path, fmt, lang="fr", limit=10))
    assert "… et 240 de plus : `mailbounce report 'long one' --format csv`" in french


def test_limit_zero_lists_none_and_a_limit_above_the_total_says_nothing_more(
    db_path: Path,
) -> None:
    _long_campaign(db_path, 30)
    none = _render(db_path, ReportFormat.TABLE, limit=0)
    assert "mailbounce explain r" not in none and "… and 30 more" in none
    everything = _render(db_path, ReportFormat.TABLE, limit=500)
    assert everything.count("mailbounce explain r") == 30 and "more:" not in everything
    with Store(db_path) as store, pytest.raises(UsageError):
        build_report(store, None, "en", limit=-1)


def test_json_lists_the_limited_rows_with_the_total_and_csv_exports_all(db_path: Path) -> None:
    _long_campaign(db_path, 250)
    data = json.loads(_render(db_path, ReportFormat.JSON, limit=20))
    assert data["rejected_total"] == 250 and len(data["rejected"]) == 20
    assert data["rejected"][0]["address"] == "r0249@free.fr"
    full = json.loads(_render(db_path, ReportFormat.JSON, limit=None))
    assert len(full["rejected"]) == full["rejected_total"] == 250
    rows = list(csv.DictReader(io.StringIO(_render(db_path, ReportFormat.CSV, limit=20))))
    assert len(rows) == 250 and {row["address"] for row in rows} == {
        f"r{i:04d}@free.fr" for i in range(250)
    }


@pytest.mark.parametrize(
    ("subject", "title"),
    [
        ("{{ first_name or 'Bonjour' }}, la lettre de novembre", "Bonjour, la lettre de novembre"),
        ("Bonjour {{ first_name }} !", "Bonjour !"),
        ("Nouvelles {{ unclosed", "Nouvelles {{ unclosed"),  # cannot render: the raw text
        ("{{ ''.__class__.__mro__ }}", "{{ ''.__class__.__mro__ }}"),  # sandbox refuses
        ("{{ first_name }}", "{{ first_name }}"),  # nothing left: the raw text
        ("Plain subject", "Plain subject"),
    ],
)
def test_title_shows_the_subject_a_recipient_without_fields_sees(
    db_path: Path, subject: str, title: str
) -> None:
    build_campaign(db_path, "nov", [Recipient("a@b.fr")])
    with Store(db_path) as store, store.transaction() as conn:
        conn.execute("UPDATE campaigns SET subject = ?", (subject,))
    text = _render(db_path, ReportFormat.TABLE)
    assert text.startswith(f"Campaign report: nov — {title}\n")
    data = json.loads(_render(db_path, ReportFormat.JSON))
    assert data["campaign"]["subject"] == subject and data["campaign"]["title"] == title
