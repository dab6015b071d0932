"""``_detect`` over the gates' generator (``registry.ASKED``): where a view raises after some
detectors were asked, the gates are asked in turn from the first detector not yet asked."""

from __future__ import annotations

from collections.abc import Iterator
from email.message import Message

import pytest

import mailbounce.bounces as bounces
from mailbounce.bounces.base import Mail
from mailbounce.models import BounceFacts


class _Detector:
    def __init__(self, name: str, found: list[BounceFacts] | None) -> None:
        self.name = name
        self.found = found
        self.asked = 0

    def detect(self, mail: Mail) -> list[BounceFacts] | None:
        self.asked += 1
        return self.found


def _facts(recipient: str) -> list[BounceFacts]:
    return [BounceFacts(recipient=recipient, status="5.1.1", diagnostic="550 unknown")]


def _registry(detectors: list[_Detector], asked: object) -> object:
    return lambda: (tuple((d, None) for d in detectors), asked)


def test_a_view_raising_after_a_detector_was_asked_resumes_in_turn_after_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    first, second, third = _Detector("a", None), _Detector("b", None), _Detector("c", None)
    third.found = _facts("x@example.org")

    def asked(mail: Mail) -> Iterator[int]:
        yield 0
        raise ValueError("a view that cannot be built")

    monkeypatch.setattr(bounces, "_registry", _registry([first, second, third], asked))
    name, facts = bounces._detect(Mail(Message()))
    assert (name, [f.recipient for f in facts]) == ("c", ["x@example.org"])
    assert (first.asked, second.asked, third.asked) == (1, 1, 1)  # "a" once, not again


def test_the_first_detector_that_finds_records_ends_the_questions(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    detectors = [
        _Detector("a", None),
        _Detector("b", _facts("y@example.org")),
        _Detector("c", None),
    ]
    yielded: list[int] = []

    def asked(mail: Mail) -> Iterator[int]:
        for index in (0, 1, 2):
            yielded.append(index)
            yield index

    monkeypatch.setattr(bounces, "_registry", _registry(detectors, asked))
    name, _ = bounces._detect(Mail(Message()))
    assert name == "b"
    assert yielded == [0, 1]
    assert [d.asked for d in detectors] == [1, 1, 0]


def test_no_detector_left_is_not_a_bounce(monkeypatch: pytest.MonkeyPatch) -> None:
    detectors = [_Detector("a", None)]

    def asked(mail: Mail) -> Iterator[int]:
        yield 0

    monkeypatch.setattr(bounces, "_registry", _registry(detectors, asked))
    assert bounces._detect(Mail(Message())) == (None, [])
