"""check content: URLs found everywhere they hide, findings per rule, sizes."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from mailbounce.checks import Severity, check_content
from mailbounce.checks.content import MessageContent
from mailbounce.checks.links import html_urls, text_urls
from mailbounce.config import load_config

DATA = Path(__file__).resolve().parent / "data" / "check" / "content"
EXPECTED: dict[str, list[str]] = yaml.safe_load((DATA / "expected.yaml").read_text())


def _matches(finding_text: str, finding: object) -> bool:
    code, severity, *where = finding_text.split(" ")
    place = " ".join(where)
    return (
        finding.code == code  # type: ignore[attr-defined]
        and str(finding.severity) == severity  # type: ignore[attr-defined]
        and (not place or f"({place}," in finding.message)  # type: ignore[attr-defined]
    )


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_sample_findings(name: str) -> None:
    findings = check_content(DATA / name)
    expected = EXPECTED[name]
    assert len(findings) == len(expected), [f.message for f in findings]
    for want, got in zip(expected, findings, strict=True):
        assert _matches(want, got), (want, got.message)


def test_http_is_an_error_when_the_lists_hold_laposte_net() -> None:
    findings = check_content(DATA / "plain.txt", recipient_domains=["laposte.net", "free.fr"])
    assert {f.severity for f in findings} == {Severity.ERROR}
    assert all(f.rule == "no-http-links" and f.provider == "laposte.net" for f in findings)


def test_outlook_conditional_urls_are_found() -> None:
    refs = html_urls((DATA / "every_place.html").read_text())
    assert "http://asso.example/outlook-bg.png" in [r.url for r in refs]


def test_text_urls_trim_punctuation() -> None:
    refs = text_urls("Voir https://asso.example/a. Et (https://asso.example/b), fin.")
    assert [r.url for r in refs] == ["https://asso.example/a", "https://asso.example/b"]


def _message(
    html: str, text: str | None = "texte https://a.example/desinscription"
) -> MessageContent:
    return MessageContent("test", html, text, DATA, unsubscribe_header=True)


def test_html_over_102_kb_is_clipped_by_gmail() -> None:
    html = "<p>" + "x" * (103 * 1024) + "</p>"
    codes = [f.code for f in check_content(_message(html))]
    assert codes == ["html-clipped"]


def test_message_over_the_configured_limit_is_an_error(tmp_path: Path) -> None:
    config = tmp_path / "c.yaml"
    config.write_text("checks:\n  max_message_bytes: 50000\n")
    html = "<p>" + "x" * 60_000 + "</p>"
    findings = check_content(_message(html), config=load_config(config))
    assert [(f.code, f.severity, f.rule) for f in findings] == [
        ("message-too-big", Severity.ERROR, "max-message-size")
    ]


def test_message_over_smtp_size_and_provider_limit() -> None:
    html = "<p>" + "x" * 30_000 + "</p>"
    findings = check_content(_message(html), smtp_max_size=20_000)
    assert [f.rule for f in findings] == ["smtp-size"]
    big = "<p>" + "x" * (11 * 1024 * 1024) + "</p>"
    rules = {
        f.rule: f.provider for f in check_content(_message(big), recipient_domains=["free.fr"])
    }
    assert rules.get("size-limit") == "Free"


def test_big_inline_and_local_images(tmp_path: Path) -> None:
    config = tmp_path / "c.yaml"
    config.write_text("checks:\n  max_image_bytes: 40000\n")
    payload = base64.b64encode(b"\x89PNG" + b"0" * 50_000).decode()
    (tmp_path / "photo.jpg").write_bytes(b"0" * 45_000)
    html = f'<img src="data:image/png;base64,{payload}"><img src="photo.jpg"><img src="small.png">'
    (tmp_path / "small.png").write_bytes(b"0" * 10)
    content = MessageContent("t", html, "desinscription https://a.example/d", tmp_path, True)
    findings = check_content(content, config=load_config(config))
    assert [f.code for f in findings] == ["image-too-big", "image-too-big"]


def test_missing_unsubscribe() -> None:
    content = MessageContent("t", None, "Bonjour", DATA, unsubscribe_header=False)
    assert [f.code for f in check_content(content)] == ["missing-unsubscribe"]


_URL_PATH = st.text("abcdefghijklmnopqrstuvwxyz0123456789-_/", max_size=20)


@given(st.text(max_size=300))
def test_html_parser_never_fails(markup: str) -> None:
    html_urls(markup)
    text_urls(markup)


@given(st.lists(_URL_PATH, min_size=1, max_size=5), st.sampled_from(["a href", "img src"]))
def test_every_url_is_found(paths: list[str], where: str) -> None:
    tag, attribute = where.split()
    urls = [f"https://asso.example/{path}" for path in paths]
    closing = "x</a>" if tag == "a" else ""
    markup = "".join(f'<p><{tag} {attribute}="{url}">{closing}</p>' for url in urls)
    assert [r.url for r in html_urls(markup)] == urls


def test_command_with_a_list_holding_laposte_net(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from mailbounce.cli import app

    members = tmp_path / "members.txt"
    members.write_text("b@laposte.net\n")
    result = CliRunner().invoke(
        app, ["check", "content", "-f", "jsonl", "--list", str(members), str(DATA / "plain.txt")]
    )
    assert result.exit_code == 3
    assert '"severity": "error"' in result.stdout
    clean = CliRunner().invoke(app, ["check", "content", "-f", "jsonl", str(DATA / "clean.eml")])
    assert clean.exit_code == 0 and clean.stdout == ""
