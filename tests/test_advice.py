"""The advice catalogue: every reason and `unknown`, in both languages, agreeing with §4."""

from __future__ import annotations

import pytest

from mailbounce import advice
from mailbounce.classify import is_hardbounce, party_of
from mailbounce.errors import NotFoundError, UsageError
from mailbounce.models import Party, Reason

ALL = [*(str(r) for r in Reason), "unknown"]
_RECIPIENT_SOFT = {Reason.MAILBOXFULL, Reason.SUSPEND}


@pytest.mark.parametrize("name", ALL)
@pytest.mark.parametrize("lang", advice.LANGS)
def test_every_reason_has_label_explanation_advice(name: str, lang: str) -> None:
    entry = advice.explain(name, lang)
    assert entry.label.strip() and entry.explanation.strip() and entry.advice.strip()
    assert entry.short and len(entry.short) <= len(entry.advice)


def test_catalogue_has_nothing_but_reasons() -> None:
    assert set(advice.catalogue()) == set(ALL)


@pytest.mark.parametrize("reason", list(Reason))
def test_marked_invalid_agrees_with_the_suppression_policy(reason: Reason) -> None:
    entry = advice.explain(reason, "en")
    if is_hardbounce(reason, "5.0.0", "550"):
        expected = {advice.Invalidation.NOW, advice.Invalidation.WHEN_PERMANENT}
    elif reason in _RECIPIENT_SOFT:
        expected = {advice.Invalidation.REPEATED}
    elif reason is Reason.FEEDBACK:
        expected = {advice.Invalidation.UNSUBSCRIBED}
    else:
        expected = {advice.Invalidation.NEVER}
    assert entry.invalid in expected
    assert entry.party is party_of(reason)
    # Sender- and content-side rejections never count against the recipient (DESIGN §4).
    if entry.party in (Party.SENDER, Party.CONTENT):
        assert entry.invalid is advice.Invalidation.NEVER


@pytest.mark.parametrize(
    ("name", "fr_words", "en_words"),
    [
        ("mailboxfull", ["temporaire", "automatiquement", "semaines"], ["temporary", "weeks"]),
        ("userunknown", ["faute de frappe", "mailbounce check"], ["typo", "mailbounce check"]),
        ("spamdetected", ["contenu", "réputation", "pas à l'adresse"], ["content", "reputation"]),
        ("greylisted", ["orange.fr", "free.fr", "sfr.fr", "automatiquement"], ["orange.fr"]),
        ("undefined", ["inconnue", "en-têtes", "journal"], ["unknown", "headers", "log line"]),
        ("unknown", ["inconnue", "en-têtes", "journal"], ["unknown", "headers", "log line"]),
        ("policyviolation", ["laposte.net", "http://"], ["laposte.net", "http://"]),
    ],
)
def test_texts_say_what_the_issue_asks(name: str, fr_words: list[str], en_words: list[str]) -> None:
    fr = advice.explain(name, "fr")
    en = advice.explain(name, "en")
    fr_text = f"{fr.explanation} {fr.advice}"
    en_text = f"{en.explanation} {en.advice}"
    for word in fr_words:
        assert word in fr_text, (name, word)
    for word in en_words:
        assert word in en_text, (name, word)


def test_terms_exist_in_both_languages() -> None:
    fr = advice._load("terms.yaml")["fr"]
    en = advice._load("terms.yaml")["en"]
    assert set(fr) == set(en)
    assert all(isinstance(v, str) and v for v in [*fr.values(), *en.values()])


@pytest.mark.parametrize(
    ("env", "lang"),
    [
        ({"LANG": "fr_FR.UTF-8"}, "fr"),
        ({"LANG": "en_GB.UTF-8"}, "en"),
        ({"LC_ALL": "fr_CA.UTF-8", "LANG": "en_US"}, "fr"),
        ({"LC_ALL": "C", "LANG": "fr_FR"}, "en"),
        ({}, "en"),
        ({"LANG": "fr"}, "fr"),
    ],
)
def test_default_lang_follows_the_locale(env: dict[str, str], lang: str) -> None:
    assert advice.default_lang(env) == lang


def test_unknown_reason_and_language_are_clear_errors() -> None:
    with pytest.raises(NotFoundError, match="unknown reason 'nope'"):
        advice.explain("nope", "en")
    with pytest.raises(UsageError, match="unknown language 'de'"):
        advice.explain("userunknown", "de")
