"""Load `eventpromo.toml`: defaults, "env:NAME" secrets, environment overrides, one clear error per key."""

from __future__ import annotations

import os
import re
import secrets
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import time
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import phonenumbers

from .errors import ConfigError

DEFAULT_CONFIG_NAME = "eventpromo.toml"

# Channel kinds the registry in service/channels knows; a test keeps the two in step.
CHANNEL_KINDS = ("outbox", "x", "webhook", "mastodon", "bluesky", "linkedin", "facebook", "instagram")
# The network whose rules (length, links) a kind applies unless the config names one.
DEFAULT_NETWORK = {"outbox": "x", "webhook": "webhook"}
NETWORKS = ("x", "bluesky", "mastodon", "linkedin", "facebook", "instagram", "webhook")

_ENV_RE = re.compile(r"^env:([A-Za-z_][A-Za-z0-9_]*)$")
_NAME_RE = re.compile(r"^[a-z0-9][a-z0-9_-]*$")
_DOMAIN_RE = re.compile(r"^(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z0-9-]{2,63}$")


@dataclass(frozen=True)
class CalendarConfig:
    """One calendar source: an ICS path/URL or a Google calendar id."""

    name: str
    ics: str | None = None
    google_calendar_id: str | None = None
    credentials: str | None = None
    template: str = "webinar"
    channels: tuple[str, ...] = ()
    timezone: str | None = None
    sync_interval_minutes: float = 5.0
    options: Mapping[str, Any] = field(default_factory=dict)
    # Feeds: timeouts in seconds, the largest download, how many redirects are followed.
    connect_timeout: float = 10.0
    read_timeout: float = 30.0
    max_size_mb: float = 20.0
    max_redirects: int = 5
    # Google: another endpoint (tests, proxies) and the user a service account acts for (domain-wide delegation).
    api_base: str | None = None
    token_uri: str | None = None
    subject: str | None = None

    @property
    def kind(self) -> str:
        """`google`, `ics_url` or `ics_file`."""
        if self.google_calendar_id:
            return "google"
        assert self.ics is not None
        return "ics_url" if self.ics.startswith(("http://", "https://")) else "ics_file"


@dataclass(frozen=True)
class ChannelConfig:
    """One publishing channel: its kind, the network whose rules it applies, kind-specific options."""

    name: str
    kind: str
    network: str
    options: Mapping[str, Any] = field(default_factory=dict)
    rate_limit_posts: int = 0  # 0: no limit of ours beyond the planner's spacing
    rate_limit_window_minutes: int = 60


@dataclass(frozen=True)
class PolicyConfig:
    """The content guard's allow-lists and settings (hashable: the guard is built once per policy)."""

    allowed_domains: tuple[str, ...] = ()  # lowercase, IDNA-encoded
    allowed_phones: tuple[str, ...] = ()  # as written; each parses as a phone number
    require_approval: bool = False
    allowed_addresses: tuple[str, ...] = ()  # the organisation's street addresses and PO boxes
    allowed_terms: tuple[str, ...] = ()  # phrases the guard never flags ("Race for the Cure")
    blocked_terms: tuple[str, ...] = ()  # phrases that always hold
    claim_terms: tuple[str, ...] = ()  # more medical-claim phrases that warn
    hold_warnings: bool = False  # true: warn-level findings hold the post too
    phone_region: str | None = None  # region of numbers written without +country code


@dataclass(frozen=True)
class PlanningConfig:
    """Posting window, spacing and caps used when planning campaigns."""

    window_start: time = time(8, 0)
    window_end: time = time(20, 0)
    min_spacing_minutes: int = 15
    daily_cap: int = 12
    all_day_hour: time = time(9, 0)


@dataclass(frozen=True)
class PublishingConfig:
    """Retries, leases and lateness limits of the publisher."""

    max_attempts: int = 5
    lease_seconds: int = 120
    late_limit_last_day_minutes: int = 30
    late_limit_earlier_minutes: int = 240
    backoff_base_seconds: float = 30.0
    failure_webhook: str | None = None


TRACKING_RECORDERS = ("spool", "direct")
TRACKING_FSYNC = ("batch", "click")


@dataclass(frozen=True)
class TrackingConfig:
    """Click tracking: the per-visitor suspect rate, how clicks are stored, which proxies to trust."""

    # A visitor's click is suspect when that visitor already made this many in the minute before it.
    suspect_clicks_per_minute: int = 10
    # spool: append to a local file before answering, moved into the database within a second;
    # direct: one database transaction per click before answering (README "Click tracking").
    recorder: str = "spool"
    spool_dir: Path | None = None  # default: <instance_dir>/clicks
    flush_seconds: float = 0.5
    # batch: fsync the spool once per flush; click: fdatasync before every redirect (survives power loss).
    fsync: str = "batch"
    # How many reverse proxies in front of the app set X-Forwarded-For (0: trust none of it).
    proxy_hops: int = 0
    # A file of extra user-agent patterns (regular expressions, one a line) counted as bots.
    bot_agents: Path | None = None
    # How long a resolved link may be served from memory (SQLite also drops it at once on any change).
    link_cache_seconds: float = 1.0


@dataclass(frozen=True)
class Config:
    """The whole configuration, with every path absolute and every secret resolved."""

    path: Path
    database_url: str
    base_url: str
    timezone: str
    templates_dir: Path
    horizon_days: int
    instance_dir: Path
    secret_key: str
    calendars: tuple[CalendarConfig, ...]
    channels: tuple[ChannelConfig, ...]
    policy: PolicyConfig = PolicyConfig()
    planning: PlanningConfig = PlanningConfig()
    publishing: PublishingConfig = PublishingConfig()
    tracking: TrackingConfig = TrackingConfig()

    @property
    def root(self) -> Path:
        """The folder of the config file: relative paths start here."""
        return self.path.parent

    @property
    def zone(self) -> ZoneInfo:
        """The configured zone for floating times and the web page."""
        return ZoneInfo(self.timezone)

    def calendar(self, name: str) -> CalendarConfig:
        """The calendar named `name`, or a ConfigError."""
        for cal in self.calendars:
            if cal.name == name:
                return cal
        raise ConfigError(f"{self.path.name}: no calendar named {name!r}")

    def channel(self, name: str) -> ChannelConfig:
        """The channel named `name`, or a ConfigError."""
        for ch in self.channels:
            if ch.name == name:
                return ch
        raise ConfigError(f"{self.path.name}: no channel named {name!r}")


def config_path(explicit: str | os.PathLike[str] | None = None) -> Path:
    """Where the config file is: the argument, else EVENTPROMO_CONFIG, else ./eventpromo.toml."""
    raw = explicit or os.environ.get("EVENTPROMO_CONFIG") or DEFAULT_CONFIG_NAME
    return Path(raw).expanduser().resolve()


def load(path: str | os.PathLike[str] | None = None, environ: Mapping[str, str] | None = None) -> Config:
    """Read and validate the config file; raise ConfigError naming the file and the key."""
    env = os.environ if environ is None else environ
    file = config_path(path)
    try:
        raw = tomllib.loads(file.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{file}: config file not found (set EVENTPROMO_CONFIG or create it)") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{file.name}: not valid TOML: {exc}") from None
    except OSError as exc:
        raise ConfigError(f"{file}: cannot read config file: {exc.strerror}") from None
    return _Reader(file, env).build(raw)


class _Reader:
    """Turns the parsed TOML into a Config, naming `file: key` in every error."""

    def __init__(self, file: Path, env: Mapping[str, str]):
        self.file = file
        self.env = env

    def fail(self, key: str, problem: str) -> ConfigError:
        return ConfigError(f"{self.file.name}: {key}: {problem}")

    def resolve(self, key: str, value: Any) -> Any:
        """Replace "env:NAME" (also inside lists and tables) by the environment variable's value."""
        if isinstance(value, str):
            m = _ENV_RE.match(value)
            if m:
                name = m.group(1)
                if name not in self.env or self.env[name] == "":
                    raise self.fail(key, f"environment variable {name} is not set")
                return self.env[name]
            return value
        if isinstance(value, list):
            return [self.resolve(f"{key}[{i}]", v) for i, v in enumerate(value)]
        if isinstance(value, dict):
            return {k: self.resolve(f"{key}.{k}", v) for k, v in value.items()}
        return value

    def take(self, table: dict[str, Any], key: str, prefix: str, typ: type | tuple[type, ...], default: Any) -> Any:
        value = table.pop(key, default)
        value = self.resolve(f"{prefix}{key}", value)
        if value is not None and not isinstance(value, typ):
            names = typ.__name__ if isinstance(typ, type) else " or ".join(t.__name__ for t in typ)
            raise self.fail(f"{prefix}{key}", f"expected {names}, got {type(value).__name__} {value!r}")
        if isinstance(value, bool) and typ in (int, float, (int, float)):
            raise self.fail(f"{prefix}{key}", f"expected a number, got {value!r}")
        return value

    def path(self, value: str) -> Path:
        p = Path(value).expanduser()
        return p if p.is_absolute() else (self.file.parent / p).resolve()

    def clock_time(self, table: dict[str, Any], key: str, prefix: str, default: time) -> time:
        raw = self.take(table, key, prefix, str, None)
        if raw is None:
            return default
        try:
            return time.fromisoformat(raw)
        except ValueError:
            raise self.fail(f"{prefix}{key}", f"expected a time of day like '08:00', got {raw!r}") from None

    def no_leftovers(self, table: dict[str, Any], prefix: str) -> None:
        if table:
            raise self.fail(f"{prefix}{sorted(table)[0]}", "unknown key")

    def build(self, raw: dict[str, Any]) -> Config:
        raw = dict(raw)
        database_url = self.env.get("EVENTPROMO_DATABASE_URL") or self.take(
            raw, "database_url", "", str, "sqlite:///instance/eventpromo.db"
        )
        raw.pop("database_url", None)
        base_url = self.env.get("EVENTPROMO_BASE_URL") or self.take(raw, "base_url", "", str, "http://127.0.0.1:8000")
        raw.pop("base_url", None)
        if not base_url.startswith(("http://", "https://")):
            raise self.fail("base_url", f"must start with http:// or https://, got {base_url!r}")
        timezone = self.take(raw, "timezone", "", str, "America/Phoenix")
        self.zone(timezone, "timezone")
        templates_dir = self.path(self.take(raw, "templates", "", str, "campaign_templates"))
        if not templates_dir.is_dir():
            raise self.fail("templates", f"folder {templates_dir} does not exist")
        horizon_days = self.take(raw, "horizon_days", "", int, 120)
        if not 1 <= horizon_days <= 3660:
            raise self.fail("horizon_days", f"must be between 1 and 3660, got {horizon_days}")
        instance_dir = self.path(self.take(raw, "instance_dir", "", str, "instance"))
        secret_key = self.env.get("EVENTPROMO_SECRET_KEY") or self.take(raw, "secret_key", "", str, None)
        raw.pop("secret_key", None)

        channels = tuple(self.channel(i, t) for i, t in enumerate(self.table_list(raw.pop("channels", []), "channels")))
        names = [c.name for c in channels]
        self.unique(names, "channels")
        calendars = tuple(
            self.calendar(i, t, set(names))
            for i, t in enumerate(self.table_list(raw.pop("calendars", []), "calendars"))
        )
        self.unique([c.name for c in calendars], "calendars")
        policy = self.policy(dict(self.section(raw, "policy")))
        planning = self.planning(dict(self.section(raw, "planning")))
        publishing = self.publishing(dict(self.section(raw, "publishing")))
        tracking = self.tracking(dict(self.section(raw, "tracking")))
        self.no_leftovers(raw, "")
        return Config(
            path=self.file,
            database_url=self.database_url(database_url),
            base_url=base_url.rstrip("/"),
            timezone=timezone,
            templates_dir=templates_dir,
            horizon_days=horizon_days,
            instance_dir=instance_dir,
            secret_key=secret_key or _instance_secret(instance_dir),
            calendars=calendars,
            channels=channels,
            policy=policy,
            planning=planning,
            publishing=publishing,
            tracking=tracking,
        )

    def zone(self, name: str, key: str) -> None:
        try:
            ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            raise self.fail(key, f"unknown time zone {name!r} (use an IANA name like 'America/Phoenix')") from None

    def unique(self, names: list[str], key: str) -> None:
        seen: set[str] = set()
        for i, n in enumerate(names):
            if n in seen:
                raise self.fail(f"{key}[{i}].name", f"duplicate name {n!r}")
            seen.add(n)

    def section(self, raw: dict[str, Any], key: str) -> dict[str, Any]:
        value = raw.pop(key, {})
        if not isinstance(value, dict):
            raise self.fail(key, "expected a table")
        return value

    def table_list(self, value: Any, key: str) -> list[dict[str, Any]]:
        if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
            raise self.fail(key, f"expected [[{key}]] tables")
        return [dict(v) for v in value]

    def database_url(self, url: str) -> str:
        # A relative SQLite path is relative to the config file's folder, like every other path.
        prefix = "sqlite:///"
        if url.startswith(prefix) and not url.startswith("sqlite:////") and url != "sqlite:///:memory:":
            rel = url[len(prefix) :]
            return prefix + str(self.path(rel))
        if not url.startswith(("sqlite:", "postgresql")):
            raise self.fail(
                "database_url", f"expected sqlite:/// or postgresql+psycopg:// URL, got {url.split(':')[0]}:"
            )
        if url.startswith("postgresql://") or url.startswith("postgres://"):
            url = "postgresql+psycopg://" + url.split("://", 1)[1]
        return url

    def name(self, table: dict[str, Any], prefix: str) -> str:
        name = self.take(table, "name", prefix, str, None)
        if not name:
            raise self.fail(f"{prefix}name", "is required")
        if not _NAME_RE.match(name):
            raise self.fail(f"{prefix}name", f"use lowercase letters, digits, '-' or '_', got {name!r}")
        return str(name)

    def channel(self, i: int, t: dict[str, Any]) -> ChannelConfig:
        prefix = f"channels[{i}]."
        name = self.name(t, prefix)
        kind = self.take(t, "kind", prefix, str, None)
        if kind is None:
            raise self.fail(f"{prefix}kind", f"is required (one of: {', '.join(CHANNEL_KINDS)})")
        if kind not in CHANNEL_KINDS:
            raise self.fail(f"{prefix}kind", f"unknown channel kind {kind!r} (known: {', '.join(CHANNEL_KINDS)})")
        network = self.take(t, "network", prefix, str, DEFAULT_NETWORK.get(kind, kind))
        if network not in NETWORKS:
            raise self.fail(f"{prefix}network", f"unknown network {network!r} (known: {', '.join(NETWORKS)})")
        rate_posts = self.take(t, "rate_limit_posts", prefix, int, 0)
        rate_window = self.take(t, "rate_limit_window_minutes", prefix, int, 60)
        options = {k: self.resolve(f"{prefix}{k}", v) for k, v in t.items()}
        if kind == "webhook" and not options.get("url"):
            raise self.fail(f"{prefix}url", "is required for a webhook channel")
        return ChannelConfig(
            name=name,
            kind=kind,
            network=network,
            options=options,
            rate_limit_posts=rate_posts,
            rate_limit_window_minutes=rate_window,
        )

    def calendar(self, i: int, t: dict[str, Any], channel_names: set[str]) -> CalendarConfig:
        prefix = f"calendars[{i}]."
        name = self.name(t, prefix)
        prefix = f"calendars[{i}] ({name})."
        ics = self.take(t, "ics", prefix, str, None)
        gid = self.take(t, "google_calendar_id", prefix, str, None)
        if not ics and not gid:
            raise self.fail(f"{prefix}ics", "a calendar needs either `ics` (path or URL) or `google_calendar_id`")
        if ics and gid:
            raise self.fail(f"{prefix}ics", "give either `ics` or `google_calendar_id`, not both")
        if ics:
            ics = ics.strip()
            # webcal:// is how calendar apps share a feed; it is plain https underneath.
            if ics.lower().startswith(("webcal://", "webcals://")):
                ics = "https://" + ics.split("://", 1)[1]
        if ics and not ics.lower().startswith(("http://", "https://")):
            if re.match(r"^[A-Za-z][A-Za-z0-9+.-]*:", ics) and not re.match(r"^[A-Za-z]:[\\/]", ics):
                scheme = ics.split(":", 1)[0]
                raise self.fail(f"{prefix}ics", f"only a file path or an http(s) URL is accepted, got a {scheme}: URL")
            ics_path = self.path(ics)
            if not ics_path.is_file():
                raise self.fail(f"{prefix}ics", f"file {ics_path} does not exist")
            ics = str(ics_path)
        elif ics:
            scheme, rest = ics.split("://", 1)
            ics = f"{scheme.lower()}://{rest}"
        credentials = self.take(t, "credentials", prefix, str, None)
        if credentials and not credentials.lstrip().startswith("{"):
            credentials = str(self.path(credentials))
            if not Path(credentials).is_file():
                raise self.fail(f"{prefix}credentials", f"file {credentials} does not exist")
        if gid and not credentials:
            raise self.fail(
                f"{prefix}credentials",
                "a Google calendar needs `credentials`: a service-account key or an authorized-user token file",
            )
        template = self.take(t, "template", prefix, str, "webinar")
        chans = self.take(t, "channels", prefix, list, None)
        if chans is None:
            chans = sorted(channel_names)[:1]
        for j, c in enumerate(chans):
            if c not in channel_names:
                raise self.fail(f"{prefix}channels[{j}]", f"no channel named {c!r} in [[channels]]")
        tz = self.take(t, "timezone", prefix, str, None)
        if tz:
            self.zone(tz, f"{prefix}timezone")
        interval = self.take(t, "sync_interval_minutes", prefix, (int, float), 5.0)
        if interval <= 0:
            raise self.fail(f"{prefix}sync_interval_minutes", "must be positive")
        d = CalendarConfig(name=name)
        numbers = {}
        for key in ("connect_timeout", "read_timeout", "max_size_mb"):
            value = self.take(t, key, prefix, (int, float), getattr(d, key))
            if value <= 0:
                raise self.fail(f"{prefix}{key}", "must be positive")
            numbers[key] = float(value)
        max_redirects = self.take(t, "max_redirects", prefix, int, d.max_redirects)
        if not 0 <= max_redirects <= 20:
            raise self.fail(f"{prefix}max_redirects", f"must be between 0 and 20, got {max_redirects}")
        endpoints = {}
        for key in ("api_base", "token_uri"):
            value = self.take(t, key, prefix, str, None)
            if value and not value.lower().startswith(("http://", "https://")):
                raise self.fail(f"{prefix}{key}", f"must start with http:// or https://, got {value!r}")
            endpoints[key] = value
        subject = self.take(t, "subject", prefix, str, None)
        # A typo (`sync_interval_minute`) must not pass silently.
        self.no_leftovers(t, prefix)
        return CalendarConfig(
            name=name,
            ics=ics,
            google_calendar_id=gid,
            credentials=credentials,
            template=template,
            channels=tuple(chans),
            timezone=tz,
            sync_interval_minutes=float(interval),
            options={},
            connect_timeout=numbers["connect_timeout"],
            read_timeout=numbers["read_timeout"],
            max_size_mb=numbers["max_size_mb"],
            max_redirects=max_redirects,
            api_base=endpoints["api_base"],
            token_uri=endpoints["token_uri"],
            subject=subject,
        )

    def strings(self, table: dict[str, Any], key: str, prefix: str) -> list[str]:
        """A list of non-empty strings, naming the item that is not."""
        values = self.take(table, key, prefix, list, [])
        for i, v in enumerate(values):
            if not isinstance(v, str) or not v.strip():
                raise self.fail(f"{prefix}{key}[{i}]", f"expected a non-empty string, got {v!r}")
            if len(v) > 300:
                raise self.fail(f"{prefix}{key}[{i}]", "longer than 300 characters")
        return [v.strip() for v in values]

    def policy(self, t: dict[str, Any]) -> PolicyConfig:
        p = "policy."
        region = self.take(t, "phone_region", p, str, None)
        if region is not None:
            region = region.upper()
            if region not in phonenumbers.SUPPORTED_REGIONS:
                raise self.fail(f"{p}phone_region", f"unknown region {region!r} (use a two-letter code like 'US')")
        domains = [
            self.domain(d, f"{p}allowed_domains[{i}]") for i, d in enumerate(self.strings(t, "allowed_domains", p))
        ]
        phones = self.strings(t, "allowed_phones", p)
        for i, raw in enumerate(phones):
            self.phone(raw, region or "US", f"{p}allowed_phones[{i}]")
        addresses = self.strings(t, "allowed_addresses", p)
        from .policy.addresses import PO_BOX_RE, street_keys

        for i, address in enumerate(addresses):
            if not street_keys(address) and not PO_BOX_RE.search(address):
                raise self.fail(
                    f"{p}allowed_addresses[{i}]",
                    f"no street line or PO box found in {address!r} "
                    "(write it like '1200 N Saguaro Blvd, Mesa, AZ 85201')",
                )
        cfg = PolicyConfig(
            allowed_domains=tuple(domains),
            allowed_phones=tuple(phones),
            require_approval=self.take(t, "require_approval", p, bool, False),
            allowed_addresses=tuple(addresses),
            allowed_terms=tuple(self.strings(t, "allowed_terms", p)),
            blocked_terms=tuple(self.strings(t, "blocked_terms", p)),
            claim_terms=tuple(self.strings(t, "claim_terms", p)),
            hold_warnings=self.take(t, "hold_warnings", p, bool, False),
            phone_region=region,
        )
        self.no_leftovers(t, p)
        return cfg

    def domain(self, raw: str, key: str) -> str:
        """A bare domain name ("example.org"), lowercase and IDNA-encoded."""
        name = raw.lower().strip().lstrip(".").rstrip(".")
        try:
            name = name.encode("idna").decode("ascii")
        except UnicodeError:
            raise self.fail(key, f"not a domain name: {raw!r}") from None
        if not _DOMAIN_RE.match(name):
            raise self.fail(key, f"expected a domain like 'example.org' (no scheme, path or port), got {raw!r}")
        return name

    def phone(self, raw: str, region: str, key: str) -> None:
        """Fail unless `raw` is a phone number."""
        try:
            number = phonenumbers.parse(raw, region)
        except phonenumbers.NumberParseException as exc:
            raise self.fail(key, f"not a phone number: {raw!r} ({exc._msg})") from None
        if not phonenumbers.is_possible_number(number):
            raise self.fail(key, f"not a possible phone number: {raw!r} (write it like '+1 480 555 0100')")

    def planning(self, t: dict[str, Any]) -> PlanningConfig:
        p = "planning."
        d = PlanningConfig()
        cfg = PlanningConfig(
            window_start=self.clock_time(t, "window_start", p, d.window_start),
            window_end=self.clock_time(t, "window_end", p, d.window_end),
            min_spacing_minutes=self.take(t, "min_spacing_minutes", p, int, d.min_spacing_minutes),
            daily_cap=self.take(t, "daily_cap", p, int, d.daily_cap),
            all_day_hour=self.clock_time(t, "all_day_hour", p, d.all_day_hour),
        )
        if cfg.window_start >= cfg.window_end:
            raise self.fail(f"{p}window_end", "must be later than window_start")
        self.no_leftovers(t, p)
        return cfg

    def publishing(self, t: dict[str, Any]) -> PublishingConfig:
        p = "publishing."
        d = PublishingConfig()
        cfg = PublishingConfig(
            max_attempts=self.take(t, "max_attempts", p, int, d.max_attempts),
            lease_seconds=self.take(t, "lease_seconds", p, int, d.lease_seconds),
            late_limit_last_day_minutes=self.take(
                t, "late_limit_last_day_minutes", p, int, d.late_limit_last_day_minutes
            ),
            late_limit_earlier_minutes=self.take(t, "late_limit_earlier_minutes", p, int, d.late_limit_earlier_minutes),
            backoff_base_seconds=float(self.take(t, "backoff_base_seconds", p, (int, float), d.backoff_base_seconds)),
            failure_webhook=self.take(t, "failure_webhook", p, str, None),
        )
        if cfg.max_attempts < 1:
            raise self.fail(f"{p}max_attempts", "must be at least 1")
        self.no_leftovers(t, p)
        return cfg

    def tracking(self, t: dict[str, Any]) -> TrackingConfig:
        p = "tracking."
        d = TrackingConfig()
        suspect = self.take(t, "suspect_clicks_per_minute", p, int, d.suspect_clicks_per_minute)
        if suspect < 1:
            raise self.fail(f"{p}suspect_clicks_per_minute", f"must be at least 1, got {suspect}")
        recorder = self.take(t, "recorder", p, str, d.recorder)
        if recorder not in TRACKING_RECORDERS:
            raise self.fail(f"{p}recorder", f"expected one of {', '.join(TRACKING_RECORDERS)}, got {recorder!r}")
        spool_dir = self.take(t, "spool_dir", p, str, None)
        flush = float(self.take(t, "flush_seconds", p, (int, float), d.flush_seconds))
        if not 0.05 <= flush <= 10:
            raise self.fail(f"{p}flush_seconds", f"must be between 0.05 and 10, got {flush}")
        fsync = self.take(t, "fsync", p, str, d.fsync)
        if fsync not in TRACKING_FSYNC:
            raise self.fail(f"{p}fsync", f"expected one of {', '.join(TRACKING_FSYNC)}, got {fsync!r}")
        hops = self.take(t, "proxy_hops", p, int, d.proxy_hops)
        if not 0 <= hops <= 10:
            raise self.fail(f"{p}proxy_hops", f"must be between 0 and 10, got {hops}")
        bot_agents = self.take(t, "bot_agents", p, str, None)
        bot_path = self.path(bot_agents) if bot_agents else None
        if bot_path is not None and not bot_path.is_file():
            raise self.fail(f"{p}bot_agents", f"file {bot_path} does not exist")
        cache = float(self.take(t, "link_cache_seconds", p, (int, float), d.link_cache_seconds))
        if not 0 <= cache <= 300:
            raise self.fail(f"{p}link_cache_seconds", f"must be between 0 and 300, got {cache}")
        cfg = TrackingConfig(
            suspect_clicks_per_minute=suspect,
            recorder=recorder,
            spool_dir=self.path(spool_dir) if spool_dir else None,
            flush_seconds=flush,
            fsync=fsync,
            proxy_hops=hops,
            bot_agents=bot_path,
            link_cache_seconds=cache,
        )
        self.no_leftovers(t, p)
        return cfg


def _instance_secret(instance_dir: Path) -> str:
    """A random secret kept in the instance folder, so sessions survive restarts without configuration."""
    instance_dir.mkdir(parents=True, exist_ok=True)
    file = instance_dir / "secret_key"
    try:
        return file.read_text(encoding="ascii").strip()
    except FileNotFoundError:
        pass
    key = secrets.token_urlsafe(48)
    # Write aside, then link into place: link fails if another process won, and nobody reads a half file.
    tmp = instance_dir / f".secret_key.{os.getpid()}"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="ascii") as fh:
        fh.write(key)
    try:
        os.link(tmp, file)
    except FileExistsError:
        key = file.read_text(encoding="ascii").strip()
    finally:
        tmp.unlink(missing_ok=True)
    return key
