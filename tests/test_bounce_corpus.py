"""Accuracy on the shared DEV corpus (issue 3, "Accuracy"): fails below the targets.

Run ``python tests/corpus_report.py`` for the per-module breakdown and the mismatches.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from corpus_report import Report, run

TARGETS = {"found": 0.99, "reason": 0.97, "hardbounce": 0.99, "status": 0.99}


@pytest.fixture(scope="module")
def report(corpus: Path) -> Report:
    return run(corpus)


@pytest.mark.parametrize("field", sorted(TARGETS))
def test_agreement_reaches_target(report: Report, field: str) -> None:
    correct, total = report.totals[field]
    assert total > 0
    assert report.ratio(field) >= TARGETS[field], (
        f"{field}: {correct}/{total} = {report.ratio(field):.3f} < {TARGETS[field]}"
    )


def test_not_bounce_files_give_no_record(report: Report) -> None:
    assert report.false_positives == []


def test_line_ending_variants_give_same_records(report: Report) -> None:
    assert report.variant_differences == []
