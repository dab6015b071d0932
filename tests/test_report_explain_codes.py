"""`explain` of a bare SMTP reply code: the family of meanings, not "unknown"."""

from __future__ import annotations

import io

import pytest

from mailbounce.advice import LANGS
from mailbounce.profiles import explain_target
from mailbounce.profiles_text import write_explanation
from mailbounce.reply_codes import described_codes, reply_code


def test_550_explains_its_family_and_what_to_look_at() -> None:
    item = explain_target(None, "550", "en")
    assert not item.unknown and item.target_kind == "status"
    assert item.advice.label == "Mailbox unavailable (permanent)"
    assert "address does not exist" in item.advice.explanation
    assert "policy refusals" in item.advice.explanation
    assert "server's words" in item.advice.advice
    assert item.to_dict()["reason_unknown"] is False
    out = io.StringIO()
    write_explanation(item, "en", out)
    assert out.getvalue().startswith("550: Mailbox unavailable (permanent)\n")
    assert "reason is unknown" not in out.getvalue()


def test_a_4xx_family_is_temporary_and_an_enhanced_status_still_names_one_reason() -> None:
    grey = explain_target(None, "450", "fr")
    assert "greylisting" in grey.advice.explanation and str(grey.advice.kind) == "temporary"
    assert explain_target(None, "5.1.1", "en").advice.reason == "userunknown"


@pytest.mark.parametrize("code", described_codes())
@pytest.mark.parametrize("lang", LANGS)
def test_every_described_code_has_each_language(code: str, lang: str) -> None:
    found = reply_code(code, lang)
    assert found is not None and found.label and found.explanation and found.advice
    other = reply_code(code, next(x for x in LANGS if x != lang))
    assert other is not None and other.explanation != found.explanation


def test_an_undescribed_code_keeps_the_classification() -> None:
    assert reply_code("299", "en") is None
    assert explain_target(None, "299", "en").unknown
