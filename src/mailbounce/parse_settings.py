"""Settings of ``parse-bounces``: options over the ``bounces`` and ``tracking`` config.

Config keys (section ``bounces``): ``soft_threshold``, ``soft_window`` (suppression policy),
``imap_ca_file``, ``imap_move_to``, ``batch_size`` (messages per store transaction) and the
safety limits ``max_message_bytes``, ``max_header_bytes``, ``max_depth``, ``max_parts``;
``tracking.secret`` or ``$MAILBOUNCE_TRACKING_SECRET`` verifies tracking tokens.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mailbounce.bounces import DEFAULT_LIMITS, ParseLimits
from mailbounce.config import Config, env_secret
from mailbounce.errors import ConfigError, UsageError
from mailbounce.suppression import SuppressionPolicy, policy_from_config
from mailbounce.tracking import SECRET_ENV, secret_from

DEFAULT_BATCH_SIZE = 500


@dataclass(frozen=True)
class ParseSettings:
    """How ``parse-bounces`` runs; from options and the ``bounces`` config section."""

    store: bool = True
    jobs: int = 1
    batch_size: int = DEFAULT_BATCH_SIZE
    move_to: str | None = None
    imap_ca_file: Path | None = None
    limits: ParseLimits = DEFAULT_LIMITS
    policy: SuppressionPolicy = field(default_factory=SuppressionPolicy)
    tracking_secret: bytes | None = None


def settings_from_config(
    config: Config,
    *,
    store: bool = True,
    jobs: int = 1,
    move_to: str | None = None,
    imap_ca_file: Path | None = None,
) -> ParseSettings:
    """Options win over config keys ``bounces.*`` and ``tracking.secret``."""
    section = config.section("bounces")
    if jobs < 1:
        raise UsageError(f"--jobs must be at least 1, got {jobs}")
    ca_file = imap_ca_file or _optional_path(section.get("imap_ca_file"))
    batch = section.get("batch_size", DEFAULT_BATCH_SIZE)
    if isinstance(batch, bool) or not isinstance(batch, int) or batch < 1:
        raise ConfigError(f"{config.path}: bounces.batch_size: expected a whole number ≥ 1")
    return ParseSettings(
        store=store,
        jobs=jobs,
        batch_size=batch,
        move_to=move_to or _optional_text(section.get("imap_move_to")),
        imap_ca_file=ca_file,
        limits=_limits(section, config.path),
        policy=policy_from_config(section, where=f"{config.path}: bounces"),
        tracking_secret=_tracking_secret(config),
    )


def _optional_text(value: Any) -> str | None:
    return str(value) if value not in (None, "") else None


def _optional_path(value: Any) -> Path | None:
    return Path(str(value)).expanduser() if value else None


def _limits(section: Any, path: Path | None) -> ParseLimits:
    values: dict[str, int] = {}
    for key in ("max_message_bytes", "max_header_bytes", "max_depth", "max_parts"):
        value = section.get(key)
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ConfigError(f"{path}: bounces.{key}: expected a whole number ≥ 1")
        values[key] = value
    return ParseLimits(**values)


def _tracking_secret(config: Config) -> bytes | None:
    """The secret tokens are verified with (environment over config file); None when
    neither sets one: tokens are then not verified, and never trusted."""
    value = env_secret(SECRET_ENV) or config.section("tracking").get("secret")
    return secret_from(value) if value else None
