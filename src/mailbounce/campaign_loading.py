"""Loading a campaign's definition, from a YAML campaign file or from options alone.

Precedence for every setting: command-line option > environment (secrets) > campaign file
> configuration file (``--config``) > default. Paths in a campaign file are relative to it.

Campaign file keys (``examples/campaign.yaml``)::

    name: novembre-2026                 # identifies the campaign: the same name resumes it
    from: "Asso <news@asso.example>"
    reply_to: bureau@asso.example       # optional
    subject: "Nouvelles de novembre, {{ first_name }}"
    text: newsletter.txt                # text and/or html template files (Jinja2)
    html: newsletter.html
    lists: [members.csv]                # one or more CSV lists
    columns: {email: Courriel, first_name: Prénom, last_name: Nom}   # optional mapping
    list_unsubscribe: {mailto: desinscription@asso.example,
                       url: "https://asso.example/desinscription/{{ token }}"}
    headers: {X-Campaign: novembre}     # optional extra headers
    smtp: {url: "smtp://127.0.0.1:2525", tls: none, user: news, password_file: ~/.pw,
           ca_file: ca.pem, timeout: 60}
    sending: {concurrency: 4, rate: 10, retry_after: 5m, retry_cap: 1h, give_up: 5d,
              domains: {orange.fr: {concurrency: 1, rate: 1}}}
    tracking: {secret: "...", bounce_domain: bounces.asso.example}

The same ``smtp``, ``sending`` and ``tracking`` sections may live in the configuration
file instead. The SMTP password is never a key: ``MAILBOUNCE_SMTP_PASSWORD`` or
``smtp.password_file`` (mode 0600).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from email.utils import parseaddr
from pathlib import Path
from typing import Any

from mailbounce.campaign import Campaign, CampaignOptions, DomainLimit
from mailbounce.compose import MessageSpec
from mailbounce.config import Config, Secret, env_secret, file_secret, load_yaml
from mailbounce.errors import ConfigError, InputError, UsageError
from mailbounce.lists import ColumnMapping
from mailbounce.schedule import RetryPolicy, parse_duration
from mailbounce.smtp_settings import SmtpSettings, TlsMode, parse_smtp_url
from mailbounce.tracking import SECRET_ENV

PASSWORD_ENV = "MAILBOUNCE_SMTP_PASSWORD"
CAMPAIGN_KEYS = frozenset(
    {
        "name",
        "from",
        "reply_to",
        "subject",
        "text",
        "html",
        "lists",
        "columns",
        "headers",
        "list_unsubscribe",
        "smtp",
        "sending",
        "tracking",
    }
)


class _Layers:
    """Option > campaign file > configuration file, section by section."""

    def __init__(self, campaign: Mapping[str, Any], config: Config, origin: str) -> None:
        self.campaign = campaign
        self.config = config
        self.origin = origin

    def section(self, name: str) -> dict[str, Any]:
        merged: dict[str, Any] = dict(self.config.section(name))
        own = self.campaign.get(name) or {}
        if not isinstance(own, Mapping):
            raise ConfigError(f"{self.origin}: '{name}' must be a mapping")
        merged.update(own)
        return merged


def load_campaign(options: CampaignOptions, config: Config | None = None) -> Campaign:
    """Resolve a campaign from its file and/or options; any mistake names its source."""
    config = config or Config()
    data: Mapping[str, Any] = {}
    base = Path.cwd()
    origin = "options"
    if options.campaign_file is not None:
        loaded = load_yaml(options.campaign_file)
        if not isinstance(loaded, Mapping):
            raise ConfigError(f"{options.campaign_file}: a campaign file is a YAML mapping")
        data, base, origin = loaded, options.campaign_file.parent, str(options.campaign_file)
        unknown = sorted(str(key) for key in data if key not in CAMPAIGN_KEYS)
        if unknown:
            raise ConfigError(
                f"{origin}: unknown key '{unknown[0]}' (known: {', '.join(sorted(CAMPAIGN_KEYS))})"
            )
    layers = _Layers(data, config, origin)
    name = options.name or _text(data, "name", origin)
    if not name:
        raise UsageError("name the campaign: --campaign NAME (or 'name:' in the campaign file)")
    return Campaign(
        name=name,
        lists=_lists(options, data, base, origin),
        message=_message(options, data, base, origin),
        smtp=_smtp(options, layers.section("smtp"), base, origin),
        concurrency=_concurrency(options, layers.section("sending"), origin),
        rate=_rate(options.rate, layers.section("sending").get("rate"), f"{origin}: sending.rate"),
        retry=_retry(options, layers.section("sending"), origin),
        domains=_domains(layers.section("sending").get("domains"), origin),
        tracking_secret=_tracking_secret(layers.section("tracking")),
        bounce_domain=layers.section("tracking").get("bounce_domain") or None,
        verp_prefix=str(layers.section("tracking").get("verp_prefix") or "bounces"),
        columns=_columns(data.get("columns"), origin),
        source_file=options.campaign_file,
        config=config,
    )


def _columns(value: Any, origin: str) -> ColumnMapping | None:
    if value is None:
        return None
    if not isinstance(value, Mapping) or set(value) - {"email", "first_name", "last_name"}:
        raise ConfigError(f"{origin}: 'columns' maps email, first_name, last_name to headers")
    return ColumnMapping(
        address=value.get("email"),
        first_name=value.get("first_name"),
        last_name=value.get("last_name"),
    )


def _text(data: Mapping[str, Any], key: str, origin: str) -> str | None:
    value = data.get(key)
    if value is None:
        return None
    if not isinstance(value, str | int | float):
        raise ConfigError(f"{origin}: '{key}' must be text")
    return str(value)


def _lists(
    options: CampaignOptions, data: Mapping[str, Any], base: Path, origin: str
) -> tuple[Path, ...]:
    if options.lists:
        paths = list(options.lists)
    else:
        raw = data.get("lists")
        if raw is not None and not isinstance(raw, str | list):
            raise ConfigError(f"{origin}: 'lists' must be a list of CSV files")
        items = [raw] if isinstance(raw, str) else list(raw or [])
        paths = [base / str(item) for item in items]
    if not paths:
        raise UsageError(f"{origin}: no list to send to: give --list FILE.csv (or 'lists:')")
    for path in paths:
        if not path.is_file():
            raise InputError(path, "no such list file")
    return tuple(paths)


def _read_template(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise InputError(path, "no such template file") from None
    except UnicodeDecodeError as exc:
        raise InputError(path, f"a template must be UTF-8 ({exc.reason})") from None
    except OSError as exc:
        raise InputError(path, f"cannot read: {exc.strerror}") from None


def _message(
    options: CampaignOptions, data: Mapping[str, Any], base: Path, origin: str
) -> MessageSpec:
    from_addr = options.from_addr or _text(data, "from", origin)
    subject = options.subject or _text(data, "subject", origin)
    if not from_addr or "@" not in parseaddr(from_addr)[1]:
        raise UsageError(f"{origin}: give the sender: --from 'Asso <news@asso.example>'")
    if not subject:
        raise UsageError(f"{origin}: give the subject: --subject TEXT")
    text_path = options.text or _relative(base, _text(data, "text", origin))
    html_path = options.html or _relative(base, _text(data, "html", origin))
    if text_path is None and html_path is None:
        raise UsageError(f"{origin}: give a body: --text FILE and/or --html FILE")
    unsubscribe = data.get("list_unsubscribe") or {}
    if not isinstance(unsubscribe, Mapping):
        raise ConfigError(f"{origin}: 'list_unsubscribe' must be a mapping (mailto, url)")
    headers = data.get("headers") or {}
    if not isinstance(headers, Mapping):
        raise ConfigError(f"{origin}: 'headers' must be a mapping")
    return MessageSpec(
        from_addr=from_addr,
        subject=subject,
        text=_read_template(text_path) if text_path else None,
        html=_read_template(html_path) if html_path else None,
        reply_to=_text(data, "reply_to", origin),
        list_unsubscribe_mailto=unsubscribe.get("mailto"),
        list_unsubscribe_url=unsubscribe.get("url"),
        extra_headers={str(k): str(v) for k, v in headers.items()},
        text_name=str(text_path) if text_path else "text",
        html_name=str(html_path) if html_path else "html",
    )


def _relative(base: Path, value: str | None) -> Path | None:
    return base / Path(value).expanduser() if value else None


def _smtp(
    options: CampaignOptions, section: Mapping[str, Any], base: Path, origin: str
) -> SmtpSettings:
    url = options.smtp or section.get("url")
    if not url:
        raise UsageError(f"{origin}: give the SMTP relay: --smtp smtp://HOST:PORT")
    tls_value = options.tls or section.get("tls")
    try:
        tls = TlsMode(str(tls_value).lower()) if tls_value else None
    except ValueError:
        raise ConfigError(f"{origin}: smtp.tls must be starttls, tls or none") from None
    host, port, mode = parse_smtp_url(str(url), tls)
    user = options.user or section.get("user")
    if "password" in section:
        raise ConfigError(
            f"{origin}: never write the SMTP password in a file read by others; use "
            f"{PASSWORD_ENV} or smtp.password_file (mode 0600)"
        )
    password = env_secret(PASSWORD_ENV)
    password_file = _relative(base, section.get("password_file"))
    if password is None and password_file is not None:
        password = file_secret(password_file)
    ca_file = options.ca_file or _relative(base, section.get("ca_file"))
    timeout = float(parse_duration(section.get("timeout", 60), what="smtp.timeout").total_seconds())
    return SmtpSettings(
        host=host,
        port=port,
        tls=mode,
        user=str(user) if user else None,
        password=password,
        ca_file=ca_file,
        timeout=timeout,
        helo_name=section.get("helo") or None,
    )


def _positive_int(value: Any, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise UsageError(f"{what} must be a whole number ≥ 1, got {value!r}")
    try:
        number = int(value)
    except ValueError:
        raise UsageError(f"{what} must be a whole number ≥ 1, got {value!r}") from None
    if number < 1:
        raise UsageError(f"{what} must be a whole number ≥ 1, got {value!r}")
    return number


def _concurrency(options: CampaignOptions, section: Mapping[str, Any], origin: str) -> int:
    if options.concurrency is not None:
        return _positive_int(options.concurrency, "--concurrency")
    return _positive_int(section.get("concurrency", 1), f"{origin}: sending.concurrency")


def _rate(option: float | None, value: Any, what: str) -> float | None:
    chosen = option if option is not None else value
    origin = "--rate" if option is not None else what
    if chosen is None:
        return None
    try:
        rate = float(chosen)
    except (TypeError, ValueError):
        raise UsageError(
            f"{origin}: the rate must be messages per second, got {chosen!r}"
        ) from None
    if rate <= 0:
        raise UsageError(f"{origin}: the rate must be positive, got {chosen!r}")
    return rate


def _retry(options: CampaignOptions, section: Mapping[str, Any], origin: str) -> RetryPolicy:
    first = (
        parse_duration(options.retry_after, what="--retry-after")
        if options.retry_after
        else parse_duration(section.get("retry_after", "5m"), what=f"{origin}: sending.retry_after")
    )
    cap = parse_duration(section.get("retry_cap", "1h"), what=f"{origin}: sending.retry_cap")
    give_up = parse_duration(section.get("give_up", "5d"), what=f"{origin}: sending.give_up")
    # A cap below the first delay would shorten it: the cap never undercuts ``first``.
    return RetryPolicy(first=first, cap=max(cap, first), give_up=give_up)


def _domains(value: Any, origin: str) -> dict[str, DomainLimit]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise ConfigError(f"{origin}: sending.domains must map a domain to its limits")
    limits: dict[str, DomainLimit] = {}
    for domain, spec in value.items():
        where = f"{origin}: sending.domains.{domain}"
        if not isinstance(spec, Mapping):
            raise ConfigError(f"{where} must be a mapping (concurrency, rate)")
        concurrency = spec.get("concurrency")
        limits[str(domain).lower()] = DomainLimit(
            concurrency=_positive_int(concurrency, f"{where}.concurrency")
            if concurrency is not None
            else None,
            rate=_rate(None, spec.get("rate"), f"{where}.rate"),
        )
    return limits


def _tracking_secret(section: Mapping[str, Any]) -> Secret | None:
    from_env = os.environ.get(SECRET_ENV)
    if from_env:
        return Secret(from_env)
    value = section.get("secret")
    return Secret(str(value)) if value else None
