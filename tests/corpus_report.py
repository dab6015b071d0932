"""Score the bounce analysis on the shared DEV corpus, per module, with the mismatches.

Usage: ``python tests/corpus_report.py [--module lhost-exim] [--quiet] [--corpus PATH]``.

Scoring (corpus README): per file and per field, the expected and predicted values are matched
as multisets; a missing record counts as wrong; ``disputed`` files accept either the primary
rows or go-sisimai's ``alt.rows``; ``not/`` files must give no record; status is scored only
where the expected status is a real code (not Sisimai's ``x.0.9xx`` pseudo-codes, not "").
The test ``tests/test_bounce_corpus.py`` uses the same functions.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mailbounce.bounces import UnparseableMessage, analyse_message

FIELDS = ("found", "reason", "hardbounce", "status", "replycode")
_PSEUDO = re.compile(r"^[245]\.0\.9\d\d$")
Row = dict[str, Any]


def find_corpus(explicit: str | None = None) -> Path | None:
    """``--corpus``, ``$MAILBOUNCE_CORPUS``, or ``../shared/corpus`` beside the clone."""
    root = Path(__file__).resolve().parent.parent
    candidates = [Path(p) for p in (explicit, os.environ.get("MAILBOUNCE_CORPUS")) if p]
    candidates.append(root.parent / "shared" / "corpus")
    for candidate in candidates:
        if (candidate / "bounces").is_dir():
            return candidate
    return None


@dataclass
class Expectation:
    """All expected rows of one file (and go-sisimai's alternative when disputed)."""

    file: str
    module: str
    rows: list[Row] = field(default_factory=list)
    alt_rows: list[Row] | None = None
    variant_of: str | None = None


def load_expectations(corpus: Path, name: str = "expected.jsonl") -> dict[str, Expectation]:
    expectations: dict[str, Expectation] = {}
    with (corpus / "bounces" / name).open(encoding="utf-8") as handle:
        for line in handle:
            if not line.strip():
                continue
            row = json.loads(line)
            exp = expectations.setdefault(
                row["file"],
                Expectation(row["file"], row["module"], variant_of=row.get("variant_of")),
            )
            if row.get("records") == 0:
                continue
            exp.rows.append(row)
            if row.get("disputed") and exp.alt_rows is None:
                exp.alt_rows = list(row["alt"]["rows"])
    return expectations


def predict(path: Path) -> list[Row]:
    """The analysis of one file as scoring rows (status/replycode "" when absent)."""
    try:
        analysis = analyse_message(path.read_bytes())
    except UnparseableMessage as exc:
        return [{"error": exc.reason}]
    return [
        {
            "recipient": facts.recipient,
            "status": facts.status or "",
            "replycode": facts.replycode or "",
            "reason": str(cls.reason),
            "hardbounce": cls.hardbounce,
            "feedbacktype": facts.feedback_type or "",
            "detector": analysis.detector,
            "diagnostic": facts.diagnostic[:160],
        }
        for facts, cls in analysis.results
    ]


def _overlap(expected: list[Any], predicted: list[Any]) -> int:
    return sum((Counter(expected) & Counter(predicted)).values())


def score_rows(expected: list[Row], predicted: list[Row]) -> dict[str, tuple[int, int]]:
    """(correct, total) per field for one file."""
    predicted = [p for p in predicted if "error" not in p]
    real_status = [r["status"] for r in expected if r["status"] and not _PSEUDO.match(r["status"])]
    return {
        "found": (min(len(expected), len(predicted)), len(expected)),
        "reason": (
            _overlap([r["reason"] for r in expected], [p["reason"] for p in predicted]),
            len(expected),
        ),
        "hardbounce": (
            _overlap([r["hardbounce"] for r in expected], [p["hardbounce"] for p in predicted]),
            len(expected),
        ),
        "status": (_overlap(real_status, [p["status"] for p in predicted]), len(real_status)),
        "replycode": (
            _overlap([r["replycode"] for r in expected], [p["replycode"] for p in predicted]),
            len(expected),
        ),
    }


def score_file(exp: Expectation, predicted: list[Row]) -> dict[str, tuple[int, int]]:
    """The better of the primary and the disputed alternative, by the sum of field ratios
    (ratios, not counts: the alternative may expect a different number of records)."""
    best = score_rows(exp.rows, predicted)
    if exp.alt_rows is not None:
        alt = score_rows(exp.alt_rows, predicted)
        if _merit(alt) > _merit(best):
            best = alt
    return best


def _merit(scores: dict[str, tuple[int, int]]) -> float:
    return sum(correct / total for correct, total in scores.values() if total)


@dataclass
class Report:
    totals: dict[str, list[int]] = field(default_factory=lambda: {f: [0, 0] for f in FIELDS})
    by_module: dict[str, dict[str, list[int]]] = field(default_factory=dict)
    mismatches: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))
    false_positives: list[str] = field(default_factory=list)
    variant_differences: list[str] = field(default_factory=list)

    def add(self, module: str, scores: dict[str, tuple[int, int]]) -> None:
        per_module = self.by_module.setdefault(module, {f: [0, 0] for f in FIELDS})
        for name, (correct, total) in scores.items():
            for bucket in (self.totals[name], per_module[name]):
                bucket[0] += correct
                bucket[1] += total

    def ratio(self, name: str) -> float:
        correct, total = self.totals[name]
        return correct / total if total else 1.0


def _describe(exp: Expectation, predicted: list[Row]) -> str:
    want = [(r["reason"], r["status"], r["replycode"], r["hardbounce"]) for r in exp.rows]
    got = [
        (
            p.get("reason"),
            p.get("status"),
            p.get("replycode"),
            p.get("hardbounce"),
            p.get("detector"),
        )
        for p in predicted
    ]
    diag = " | ".join(str(p.get("diagnostic", p.get("error", ""))) for p in predicted)[:240]
    return f"{exp.file}\n    want {want}\n    got  {got}\n    diag {diag}"


def run(corpus: Path, module: str | None = None) -> Report:
    """Analyse every expected file (and its line-ending variants) and score it."""
    report = Report()
    base = corpus / "bounces"
    results: dict[str, list[Row]] = {}
    for exp in load_expectations(corpus).values():
        if module and exp.module != module:
            continue
        predicted = predict(base / exp.file)
        results[exp.file] = predicted
        if not exp.rows:
            if predicted:
                report.false_positives.append(f"{exp.file}: {predicted}")
            continue
        scores = score_file(exp, predicted)
        report.add(exp.module, scores)
        if any(c != t for c, t in scores.values()):
            report.mismatches[exp.module].append(_describe(exp, predicted))
    for exp in load_expectations(corpus, "expected-lineendings.jsonl").values():
        if module and exp.module != module:
            continue
        original = results.get(exp.variant_of or "")
        predicted = predict(base / exp.file)
        if original is not None and _strip(predicted) != _strip(original):
            report.variant_differences.append(f"{exp.file} differs from {exp.variant_of}")
    return report


def _strip(rows: list[Row]) -> list[tuple[Any, ...]]:
    return [tuple(sorted((k, str(v)) for k, v in r.items())) for r in rows]


def _format(counts: dict[str, list[int]]) -> str:
    cells = []
    for name in FIELDS:
        correct, total = counts[name]
        cells.append(
            f"{name} {correct}/{total}" + (f" {100 * correct / total:.1f}%" if total else "")
        )
    return "  ".join(cells)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--module", help="only this corpus module (e.g. lhost-exim)")
    parser.add_argument("--corpus", help="corpus folder (default: ../shared/corpus)")
    parser.add_argument("--quiet", action="store_true", help="figures only, no mismatches")
    args = parser.parse_args(argv)
    corpus = find_corpus(args.corpus)
    if corpus is None:
        print("corpus not found: pass --corpus or set MAILBOUNCE_CORPUS", file=sys.stderr)
        return 1
    report = run(corpus, args.module)
    for name in sorted(report.by_module):
        print(f"{name:28} {_format(report.by_module[name])}")
    print(f"{'TOTAL':28} {_format(report.totals)}")
    print(f"not-bounce false positives: {len(report.false_positives)}")
    print(f"line-ending variants differing: {len(report.variant_differences)}")
    if not args.quiet:
        for name in sorted(report.mismatches):
            for text in report.mismatches[name]:
                print(text)
        for text in report.false_positives + report.variant_differences:
            print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
