"""Shared fixtures: the shared DEV corpus (third-party data, never copied into the project)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DATA = Path(__file__).resolve().parent / "data"


def corpus_dir() -> Path | None:
    """``$MAILBOUNCE_CORPUS`` or ``../shared/corpus`` beside the clone, when present."""
    env = os.environ.get("MAILBOUNCE_CORPUS")
    candidates = [Path(env)] if env else []
    candidates.append(ROOT.parent / "shared" / "corpus")
    for candidate in candidates:
        if (candidate / "bounces").is_dir():
            return candidate
    return None


@pytest.fixture(scope="session")
def corpus() -> Path:
    path = corpus_dir()
    if path is None:
        pytest.skip(
            "the shared DEV corpus is absent: set MAILBOUNCE_CORPUS or place it at "
            "../shared/corpus (CI always has it)"
        )
    return path


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "mailbounce.db"
