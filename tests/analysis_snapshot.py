"""Snapshot of every analysis result, to prove a speed change leaves results unchanged.

Not a test: a developer's guard. ``python tests/analysis_snapshot.py OUT.jsonl`` runs
``analyse_message`` over every file of the shared corpus maildir (``$MAILBOUNCE_CORPUS`` or
``/work/shared/corpus``; read in place, never copied) and every ``tests/data/**/*.eml``, and
writes one JSON line per file: verdict, detector, message ids, tracking tokens and every
result (all BounceFacts fields and the classification), or the quarantine reason.
``python tests/analysis_snapshot.py --compare OLD NEW`` prints the differing files (exit 1).
Add ``--ignore-detector`` to compare without the detector name (a deliberate reorder only).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys
from pathlib import Path
from typing import Any

from mailbounce.bounces import UnparseableMessage, analyse_message

ROOT = Path(__file__).resolve().parent.parent
CORPUS = Path(os.environ.get("MAILBOUNCE_CORPUS", "/work/shared/corpus"))


def sample_files() -> list[Path]:
    """Corpus maildir files and the project's own .eml samples, in a stable order."""
    maildir = CORPUS / "bounces" / "maildir"
    corpus = sorted(p for p in maildir.rglob("*") if p.is_file()) if maildir.is_dir() else []
    own = sorted((ROOT / "tests" / "data").rglob("*.eml"))
    return corpus + own


def snapshot_line(path: Path) -> dict[str, Any]:
    """Everything ``analyse_message`` says about one file, JSON-ready."""
    try:
        analysis = analyse_message(path.read_bytes())
    except UnparseableMessage as exc:
        return {"file": str(path), "unparseable": exc.reason}
    return {
        "file": str(path),
        "verdict": str(analysis.verdict),
        "detector": analysis.detector,
        "message_id": analysis.message_id,
        "date": analysis.date,
        "original_message_id": analysis.original_message_id,
        "tracking_tokens": list(analysis.tracking_tokens),
        "results": [
            {"facts": dataclasses.asdict(facts), "classification": dataclasses.asdict(cls)}
            for facts, cls in analysis.results
        ],
    }


def write_snapshot(out: Path) -> int:
    files = sample_files()
    with out.open("w", encoding="utf-8") as handle:
        for path in files:
            handle.write(json.dumps(snapshot_line(path), sort_keys=True, default=str) + "\n")
    print(f"{len(files)} files -> {out}", file=sys.stderr)
    return 0


def _load(path: Path, ignore_detector: bool) -> dict[str, dict[str, Any]]:
    lines: dict[str, dict[str, Any]] = {}
    for raw in path.read_text(encoding="utf-8").splitlines():
        record = json.loads(raw)
        if ignore_detector:
            record.pop("detector", None)
        lines[record["file"]] = record
    return lines


def compare(old: Path, new: Path, ignore_detector: bool) -> int:
    before, after = _load(old, ignore_detector), _load(new, ignore_detector)
    differing = sorted(
        name for name in before.keys() | after.keys() if before.get(name) != after.get(name)
    )
    for name in differing:
        print(f"DIFF {name}\n  old: {before.get(name)}\n  new: {after.get(name)}")
    print(f"{len(before)} vs {len(after)} files, {len(differing)} differ", file=sys.stderr)
    return 1 if differing else 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", nargs="?", type=Path, help="snapshot file to write")
    parser.add_argument("--compare", nargs=2, type=Path, metavar=("OLD", "NEW"))
    parser.add_argument("--ignore-detector", action="store_true")
    args = parser.parse_args()
    if args.compare:
        return compare(args.compare[0], args.compare[1], args.ignore_detector)
    if args.out is None:
        parser.error("give an output file or --compare OLD NEW")
    return write_snapshot(args.out)


if __name__ == "__main__":
    sys.exit(main())
