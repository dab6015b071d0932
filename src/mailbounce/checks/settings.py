"""The ``checks`` section of the configuration, typed.

Keys::

    checks:
      providers_file: providers.yaml   # extra knowledge base (same keys as the shipped one)
      domains: {monasso.fr: 5}         # extra mailbox domains (or a list)
      dns_servers: [192.0.2.53]        # resolvers for --dns (default: the system's)
      dns_port: 53
      dns_timeout: 5                   # seconds per domain
      max_message_bytes: 10485760      # error above this total message size
      max_image_bytes: 1048576         # warning for a linked/embedded image above this
      relay_spf: include:_spf.relay.example   # what the sender domain's SPF must include
      dkim_selector: mail               # default for `check domain`
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from mailbounce.checks.dns import DEFAULT_TIMEOUT, make_resolver
from mailbounce.config import Config
from mailbounce.errors import ConfigError

if TYPE_CHECKING:
    import dns.resolver

# Gmail clips an HTML body above 102 KB ("[Message clipped]"), hiding the rest, often the
# unsubscribe link.
GMAIL_CLIP_BYTES = 102 * 1024
DEFAULT_MAX_IMAGE_BYTES = 1024 * 1024


@dataclass(frozen=True)
class CheckSettings:
    dns_servers: tuple[str, ...] | None = None
    dns_port: int = 53
    dns_timeout: float = DEFAULT_TIMEOUT
    max_message_bytes: int | None = None
    max_image_bytes: int = DEFAULT_MAX_IMAGE_BYTES
    relay_spf: str | None = None
    dkim_selector: str | None = None

    def resolver(self) -> dns.resolver.Resolver:
        return make_resolver(self.dns_servers, self.dns_port, self.dns_timeout)


def _number(section: Mapping[str, Any], key: str, where: str) -> float | None:
    value = section.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
        raise ConfigError(f"{where}.{key}: expected a positive number, got {value!r}")
    return float(value)


def check_settings(config: Config | None) -> CheckSettings:
    """Read ``checks`` from the configuration; wrong values name the file and key."""
    if config is None:
        return CheckSettings()
    section = config.section("checks")
    where = f"{config.path}: checks"
    servers = section.get("dns_servers")
    if servers is not None and not isinstance(servers, list):
        raise ConfigError(f"{where}.dns_servers: expected a list of addresses")
    timeout = _number(section, "dns_timeout", where)
    port = _number(section, "dns_port", where)
    max_message = _number(section, "max_message_bytes", where)
    max_image = _number(section, "max_image_bytes", where)
    relay = section.get("relay_spf")
    selector = section.get("dkim_selector")
    return CheckSettings(
        dns_servers=tuple(str(s) for s in servers) if servers else None,
        dns_port=int(port) if port else 53,
        dns_timeout=timeout or DEFAULT_TIMEOUT,
        max_message_bytes=int(max_message) if max_message else None,
        max_image_bytes=int(max_image) if max_image else DEFAULT_MAX_IMAGE_BYTES,
        relay_spf=str(relay) if relay else None,
        dkim_selector=str(selector) if selector else None,
    )
