"""Settings from a YAML file, ``MAILBOUNCE_*`` environment variables and options.

Precedence: command-line option > environment > configuration file > default. Each concern
reads its own section (``smtp``, ``sending``, ``tracking``, ``bounces``, ``checks``,
``report``) and turns it into its own typed settings. Secrets are ``Secret`` values: their
repr and str never show the text, so they cannot leak into logs or tracebacks.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mailbounce.errors import ConfigError


class Secret:
    """A password or key: shown as ``'********'`` everywhere but ``reveal()``."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Secret('********')"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)

    def __bool__(self) -> bool:
        return bool(self._value)


@dataclass(frozen=True)
class Config:
    """A loaded configuration file (or none): sections of plain YAML values."""

    path: Path | None = None
    data: Mapping[str, Any] = field(default_factory=dict)

    def section(self, name: str) -> Mapping[str, Any]:
        """One top-level section as a mapping; an empty one when absent."""
        value = self.data.get(name) or {}
        if not isinstance(value, Mapping):
            raise ConfigError(f"{self.path}: section '{name}' must be a mapping")
        return value


def load_yaml(path: Path) -> Any:
    """Read a YAML file; a syntax error names the file and line (exit 1)."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read: {exc}") from None
    # PyYAML costs ~30 ms to import: only commands that read a YAML file pay it.
    import yaml

    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f":{mark.line + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or "invalid YAML"
        raise ConfigError(f"{path}{line}: {problem}") from None


def load_config(path: Path | None) -> Config:
    """The configuration at ``path``; an empty one when no file is given."""
    if path is None:
        return Config()
    data = load_yaml(path)
    if data is None:
        data = {}
    if not isinstance(data, Mapping):
        raise ConfigError(f"{path}: the configuration must be a YAML mapping")
    return Config(path=path, data=data)


def env_secret(name: str) -> Secret | None:
    """A secret from the environment (e.g. ``MAILBOUNCE_SMTP_PASSWORD``), or None."""
    value = os.environ.get(name)
    return Secret(value) if value else None


def file_secret(path: Path) -> Secret:
    """A secret from a file readable only by its owner (mode 0600 or stricter)."""
    try:
        mode = path.stat().st_mode
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read the password file: {exc.strerror}") from None
    if mode & 0o077:
        raise ConfigError(f"{path}: the password file is readable by others; run: chmod 600 {path}")
    return Secret(path.read_text(encoding="utf-8").strip())
