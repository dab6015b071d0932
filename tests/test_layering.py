"""The layering of DESIGN §3, held by test as well as by ruff's banned-api.

ruff's per-file ignores let an owner import its module; this test pins that each banned
module is imported by its owner only.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parent.parent / "src" / "mailbounce"

OWNERS = {
    "typer": "cli/",
    "click": "cli/",
    "rich": "render.py",
    "smtplib": "smtp.py",
    "imaplib": "sources.py",
    "sqlite3": "store/",
}


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


@pytest.mark.parametrize("module", sorted(OWNERS))
def test_banned_module_imported_only_by_owner(module: str) -> None:
    owner = OWNERS[module]
    offenders = [
        str(path.relative_to(SRC))
        for path in SRC.rglob("*.py")
        if module in _imports(path) and not str(path.relative_to(SRC)).startswith(owner)
    ]
    assert offenders == [], f"{module} imported outside {owner}: {offenders}"
