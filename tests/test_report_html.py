"""The HTML report: one self-contained file, escaped, with inline SVG charts."""

from __future__ import annotations

import html.parser
import io
import re
from pathlib import Path

from reportdata import Recipient, build_campaign, sample_recipients

from mailbounce.report import build_report
from mailbounce.report_text import ReportFormat, write_report
from mailbounce.store import Store

# Anything that would make a browser fetch something: attributes naming a resource,
# CSS url()/@import, and any scheme://. The report must contain none of them.
_FETCHING = re.compile(
    r"""\b(?:src|href|action|poster|srcset|xlink:href|data)\s*=|url\(|@import|[a-z]+://""",
    re.IGNORECASE,
)


def _html(db: Path, lang: str = "en") -> str:
    out = io.StringIO()
    with Store(db) as store:
        write_report(build_report(store, None, lang), ReportFormat.HTML, out)
    return out.getvalue()


class _Collector(html.parser.HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.attrs: list[tuple[str, str | None]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        self.attrs.extend(attrs)

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def test_self_contained_without_any_external_url(db_path: Path) -> None:
    build_campaign(db_path, "nov-2026", sample_recipients())
    text = _html(db_path)
    tags = _Collector()
    tags.feed(text)
    assert not _FETCHING.search(text), _FETCHING.search(text)
    assert not {"script", "link", "img", "iframe", "object", "embed"} & set(tags.tags)
    assert tags.tags.count("svg") == 2
    assert "rect" in tags.tags
    assert text.startswith("<!DOCTYPE html>")


def test_charts_and_tables_show_outcomes_and_reasons(db_path: Path) -> None:
    build_campaign(db_path, "nov-2026", sample_recipients())
    tags = _Collector()
    tags.feed(_html(db_path, "fr"))
    words = " ".join(tags.text)
    for expected in (
        "Rejets permanents",
        "Adresse inexistante",
        "Problèmes côté expéditeur",
        "mailbounce explain inconnu@free.fr",
        "orange.fr",
    ):
        assert expected in words


def test_server_words_and_addresses_are_escaped(db_path: Path) -> None:
    build_campaign(
        db_path,
        "<script>alert(1)</script>",
        [
            Recipient(
                "x@example.org",
                bounces=[
                    {
                        "reason": "onhold",
                        "kind": "permanent",
                        "diagnostic": '550 <img src="https://evil.example/x.png"> no',
                    }
                ],
            )
        ],
    )
    text = _html(db_path)
    assert "<script>" not in text and "<img" not in text
    assert "&lt;script&gt;" in text and "&lt;img" in text
    # the escaped URL is still text, never an attribute
    tags = _Collector()
    tags.feed(text)
    assert all(name not in ("src", "href") for name, _ in tags.attrs)


def test_no_rejections_is_said(db_path: Path) -> None:
    build_campaign(db_path, "calm", [Recipient("a@b.fr")])
    assert "No rejections." in _html(db_path)
