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
    "ahocorasick": "literal_scan.py",
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


# What the command modules may import when the program starts (module level): typer and
# light modules only. The library a command calls is imported inside the command, so that
# `mailbounce --help` or an MTA pipe does not load every concern (tests/test_startup.py).
CLI_STARTUP_IMPORTS = {
    "mailbounce",
    "mailbounce.cli",
    "mailbounce.cli.app",
    "mailbounce.cli.bounces_run",  # light: the library is imported inside its function
    "mailbounce.cli.options",
    "mailbounce.config",
    "mailbounce.errors",
    "mailbounce.render",
    "mailbounce.report_options",
    "mailbounce.smtp_settings",
}


def _module_level_imports(path: Path) -> set[str]:
    """mailbounce modules imported outside functions and outside ``if TYPE_CHECKING:``."""
    names: set[str] = set()
    for node in ast.parse(path.read_text(encoding="utf-8")).body:
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
        elif isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
    return {name for name in names if name.split(".")[0] == "mailbounce"}


@pytest.mark.parametrize("path", sorted((SRC / "cli").glob("*.py")), ids=lambda p: p.name)
def test_cli_imports_only_light_modules_at_startup(path: Path) -> None:
    heavy = _module_level_imports(path) - CLI_STARTUP_IMPORTS
    assert heavy == set(), f"cli/{path.name} imports at module level: {sorted(heavy)}"


@pytest.mark.parametrize(
    "path",
    sorted(p for p in (SRC / "cli").glob("*.py") if p.name != "__init__.py"),
    ids=lambda p: p.name,
)
def test_command_annotations_are_not_strings(path: Path) -> None:
    # Typer evaluates every command's annotations at each start: string annotations
    # (``from __future__ import annotations``) cost ~15 ms a run.
    tree = ast.parse(path.read_text(encoding="utf-8"))
    futures = [
        node
        for node in tree.body
        if isinstance(node, ast.ImportFrom) and node.module == "__future__"
    ]
    assert futures == [], f"cli/{path.name}: no `from __future__ import annotations` here"
