"""The hand-written ``__init__`` of the per-message dataclasses (issue 3, "Benchmark") take
the dataclass's fields, in order, with its defaults, and store each value in its own field."""

from __future__ import annotations

import dataclasses
import inspect
import pickle
from email.message import Message
from typing import Any

import pytest

from mailbounce.bounces import Analysis, Verdict
from mailbounce.bounces.base import Mail
from mailbounce.models import BounceFacts, BounceRecord, Classification, Kind, Party, Reason

FROZEN = (BounceFacts, Classification, Analysis, BounceRecord)


@pytest.mark.parametrize("cls", FROZEN)
def test_init_takes_the_fields_in_order_with_their_defaults(cls: type) -> None:
    parameters = list(inspect.signature(cls.__init__).parameters.values())[1:]
    assert [p.name for p in parameters] == [f.name for f in dataclasses.fields(cls)]
    for parameter, field in zip(parameters, dataclasses.fields(cls), strict=True):
        expected = (
            inspect.Parameter.empty if field.default is dataclasses.MISSING else field.default
        )
        if field.default_factory is not dataclasses.MISSING:
            expected = None  # a new value from the factory when not given
        assert parameter.default == expected, field.name
        assert parameter.kind is inspect.Parameter.POSITIONAL_OR_KEYWORD


def _distinct_values(cls: type) -> dict[str, Any]:
    """A value per field, each different from every other (a swapped store shows)."""
    return {f.name: f"value of {f.name}" for f in dataclasses.fields(cls)}


@pytest.mark.parametrize("cls", FROZEN)
def test_each_value_lands_in_its_own_field(cls: type) -> None:
    values = _distinct_values(cls)
    by_keyword = cls(**values)
    by_position = cls(*values.values())
    assert type(by_keyword) is cls and type(by_position) is cls  # itself again after __init__
    for name, value in values.items():
        assert getattr(by_keyword, name) == value
        assert getattr(by_position, name) == value
    assert by_keyword == by_position
    assert hash(by_keyword) == hash(by_position)
    assert pickle.loads(pickle.dumps(by_keyword)) == by_keyword
    changed = dataclasses.replace(by_keyword, **{dataclasses.fields(cls)[0].name: "other"})
    assert getattr(changed, dataclasses.fields(cls)[0].name) == "other"
    with pytest.raises(dataclasses.FrozenInstanceError):
        setattr(by_keyword, dataclasses.fields(cls)[0].name, "x")


def test_defaults_as_the_dataclass_declares_them() -> None:
    facts = BounceFacts("a@example.org")
    assert facts == BounceFacts(recipient="a@example.org", diagnostic="")
    assert facts.diagnostic == "" and facts.status is None and facts.reason_hint is None
    classification = Classification(Reason.USERUNKNOWN, Kind.PERMANENT, True, Party.RECIPIENT)
    assert classification.kind is Kind.PERMANENT and classification.hardbounce is True
    analysis = Analysis(Verdict.BOUNCE, None, None, None, None, (), ())
    assert analysis.verdict is Verdict.BOUNCE and vars(analysis).keys() == {
        f.name for f in dataclasses.fields(Analysis)
    }


def test_mail_starts_with_every_field_empty() -> None:
    message = Message()
    mail = Mail(message)
    assert mail.msg is message
    for field in dataclasses.fields(Mail)[1:]:
        value = getattr(mail, field.name)
        assert value == (field.default_factory() if field.default is dataclasses.MISSING else None)  # type: ignore[misc]
    assert mail._cache is not Mail(message)._cache  # one per message, not shared


def test_a_record_without_extra_has_its_own_empty_dict() -> None:
    values = _distinct_values(BounceRecord)
    del values["extra"]
    first, second = BounceRecord(**values), BounceRecord(**values)
    assert first.extra == {} and first.extra is not second.extra
    assert BounceRecord(**values, extra={"a": 1}).extra == {"a": 1}
