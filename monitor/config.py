"""Load and validate the TOML configuration into typed records.

Every problem is collected and reported at once, each naming its key and what
is allowed, e.g. ``sources[2].type: 'twiter' is not one of x, mastodon, ...``.
Secrets never live in the file: it names the environment variables that hold them.
"""

from __future__ import annotations

import difflib
import re
import tomllib
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from monitor.clock import DEFAULT_TIMEZONE
from monitor.labels import SECTORS

SOURCE_TYPES = ("x", "mastodon", "bluesky", "youtube", "rss", "file_import", "replay")
# \Z, not $: "$" also matches before a trailing newline ("replay\n" is no slug).
ENV_NAME = re.compile(r"^[A-Z_][A-Z0-9_]*\Z")
SLUG = re.compile(r"^[a-z0-9][a-z0-9-]*\Z")
INTERVAL = re.compile(r"^every\s+(\d+)\s*([smh])\Z")
CRON_FIELD = re.compile(r"^[0-9*/,\-a-zA-Z]+\Z")
HHMM = re.compile(r"^([01]\d|2[0-3]):[0-5]\d\Z")


class ConfigError(Exception):
    """The configuration cannot be used; ``problems`` lists every reason."""

    def __init__(self, problems: list[str], path: Path | None = None):
        self.problems = problems
        self.path = path
        where = f" in {path}" if path else ""
        super().__init__(f"{len(problems)} problem(s){where}:\n  " + "\n  ".join(problems))


@dataclass
class SmtpConfig:
    host: str = ""
    port: int = 587
    starttls: bool = True
    username_env: str = ""
    password_env: str = ""
    sender: str = ""


@dataclass
class DigestConfig:
    recipients: list[str] = field(default_factory=list)
    # agency id -> addresses that receive only that agency's part of the digest
    agency_recipients: dict[str, list[str]] = field(default_factory=dict)
    send_time: str = "07:00"
    language: str = "id"
    smtp: SmtpConfig = field(default_factory=SmtpConfig)


@dataclass
class PrivacyConfig:
    raw_retention_days: int = 30
    post_retention_days: int = 0  # delete whole posts after this many days; 0 = keep
    pseudonym_key_env: str = "MONITOR_PSEUDONYM_KEY"
    show_author_handles: bool = False


@dataclass
class OperationsConfig:
    heartbeat_url: str = ""  # pinged (GET) after every successful run
    log_file: str = ""  # also log to this file, rotated; "" = stderr only
    log_max_bytes: int = 10_000_000
    log_backups: int = 5


@dataclass
class RegionConfig:
    id: str
    name: str
    places: list[str] = field(default_factory=list)
    within: str = ""  # the larger region this one lies in (a city within its province)


@dataclass
class AgencyConfig:
    id: str
    name: str
    sector: str
    region: str
    short_name: str = ""
    aliases: list[str] = field(default_factory=list)
    handles: list[str] = field(default_factory=list)
    hashtags: list[str] = field(default_factory=list)
    # Names of the agency's KIND ("pdam", "samsat", "dukcapil"): used only in a post about
    # a region the agency serves (or of unknown region); several agencies may share one.
    generic_aliases: list[str] = field(default_factory=list)
    # Places of the agency's own area (a kecamatan's kelurahan): a post of the agency's
    # sector that names one of them, and no agency, is about this agency.
    places: list[str] = field(default_factory=list)

    @property
    def label(self) -> str:
        return self.short_name or self.name


@dataclass
class SourceConfig:
    name: str
    type: str
    enabled: bool = True
    schedule: str = "every 60m"
    region: str = ""
    queries: list[str] = field(default_factory=list)
    base_url: str = ""
    credentials: dict[str, str] = field(default_factory=dict)
    path: str = ""  # replay / file_import: a file to read (relative to the config folder)
    options: dict[str, Any] = field(default_factory=dict)  # the keys only its type takes


@dataclass
class HttpConfig:
    timeout_seconds: float = 20.0
    retries: int = 3
    max_wait_seconds: int = 60  # wait out a rate limit this short; stop the source if longer
    contact: str = ""  # put in the User-Agent so API owners can reach the operator
    source_budget_seconds: int = 600  # one source's share of one run, waits included


@dataclass
class IngestConfig:
    host: str = "127.0.0.1"
    port: int = 8787
    secret_env: str = "MONITOR_INGEST_SECRET"
    max_body_bytes: int = 1_000_000
    max_clock_skew_seconds: int = 300
    source: str = "ingest"  # the source name posts pushed here are stored under
    # A connection idle this long, or a request not fully received this long after it
    # began (slow headers or body), is closed.
    timeout_seconds: float = 30.0
    backlog: int = 1024  # connections the OS queues while all are busy
    threads: int = 4  # requests handled at once; the rest wait in the queue
    max_connections: int = 500  # open connections at once; more wait in the backlog


@dataclass
class ScheduleConfig:
    process_every: str = "every 10m"
    misfire_grace_seconds: int = 300


@dataclass
class Config:
    database: Path
    reports_dir: Path
    timezone: str = DEFAULT_TIMEZONE
    default_region: str = ""
    privacy: PrivacyConfig = field(default_factory=PrivacyConfig)
    digest: DigestConfig = field(default_factory=DigestConfig)
    regions: list[RegionConfig] = field(default_factory=list)
    agencies: list[AgencyConfig] = field(default_factory=list)
    sources: list[SourceConfig] = field(default_factory=list)
    http: HttpConfig = field(default_factory=HttpConfig)
    ingest: IngestConfig = field(default_factory=IngestConfig)
    schedule: ScheduleConfig = field(default_factory=ScheduleConfig)
    operations: OperationsConfig = field(default_factory=OperationsConfig)
    path: Path | None = None  # the file it was read from, if any

    def source(self, name: str) -> SourceConfig:
        for source in self.sources:
            if source.name == name:
                return source
        known = ", ".join(s.name for s in self.sources) or "(none configured)"
        raise ConfigError([f"sources: no source named '{name}'; configured: {known}"], self.path)

    def agency(self, agency_id: str) -> AgencyConfig | None:
        for agency in self.agencies:
            if agency.id == agency_id:
                return agency
        return None


# --- validation machinery -------------------------------------------------------------

Check = Callable[[Any], str | None]  # returns a problem description or None


@dataclass
class Key:
    kind: type | str  # str, int, bool, "list[str]", "dict[str,str]", "table"
    default: Any = None
    required: bool = False
    check: Check | None = None


def _type_ok(value: Any, kind: type | str) -> bool:
    if kind == "list[str]":
        return isinstance(value, list) and all(isinstance(v, str) for v in value)
    if kind == "dict[str,str]":
        return isinstance(value, dict) and all(isinstance(v, str) for v in value.values())
    if kind == "table":
        return isinstance(value, dict)
    if kind is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if kind == (int, float):
        return isinstance(value, int | float) and not isinstance(value, bool)
    return isinstance(value, kind)


def _kind_name(kind: type | str) -> str:
    names = {str: "a string", int: "a whole number", bool: "true or false", list: "a list"}
    if kind == (int, float):
        return "a number"
    if isinstance(kind, type):
        return names.get(kind, kind.__name__)
    return {
        "list[str]": "a list of strings",
        "dict[str,str]": "a table of strings",
    }.get(kind, "a table")


def _read_section(
    data: Any, spec: dict[str, Key], where: str, problems: list[str]
) -> dict[str, Any]:
    """Values for every key in ``spec``; problems for unknown, missing or wrong ones."""
    prefix = f"{where}." if where else ""
    if not isinstance(data, dict):
        problems.append(f"{where}: must be a table, got {type(data).__name__}")
        data = {}
    for key in data:
        if key not in spec:
            hint = difflib.get_close_matches(key, spec.keys(), n=1)
            suggestion = f" (did you mean '{hint[0]}'?)" if hint else ""
            allowed = ", ".join(spec)
            problems.append(f"{prefix}{key}: unknown key{suggestion}; allowed: {allowed}")
    values: dict[str, Any] = {}
    for key, rule in spec.items():
        if key not in data:
            if rule.required:
                problems.append(f"{prefix}{key}: required, {_kind_name(rule.kind)}")
            values[key] = rule.default() if callable(rule.default) else rule.default
            continue
        value = data[key]
        if not _type_ok(value, rule.kind):
            problems.append(
                f"{prefix}{key}: must be {_kind_name(rule.kind)}, got {_glimpse(value)}"
            )
            values[key] = rule.default() if callable(rule.default) else rule.default
            continue
        if rule.check and (problem := rule.check(value)):
            problems.append(f"{prefix}{key}: {problem}")
        values[key] = value
    return values


def _glimpse(value: Any) -> str:
    """A wrong value named without revealing it: a mistaken secret must not reach logs."""
    if isinstance(value, str):
        return f"a string starting '{value[:4]}…'" if len(value) > 4 else repr(value)
    return type(value).__name__


def _path_text(value: str) -> str | None:
    if any(ord(c) < 32 for c in value):
        return "a path must not contain control characters (NUL, newline, ...)"
    return None


def _one_of(choices: tuple[str, ...] | list[str]) -> Check:
    def check(value: str) -> str | None:
        if value in choices:
            return None
        hint = difflib.get_close_matches(value, list(choices), n=1)
        suggestion = f" (did you mean '{hint[0]}'?)" if hint else ""
        return f"'{value}' is not one of {', '.join(choices)}{suggestion}"

    return check


def _env_name(value: str) -> str | None:
    if value == "" or ENV_NAME.match(value):
        return None
    return (
        f"'{value[:4]}…' is not an environment variable NAME (A-Z, 0-9, _); put the secret "
        "in the environment and its name here"
    )


def _env_names(value: dict[str, str]) -> str | None:
    for name, env in value.items():
        if problem := _env_name(env):
            return f"{name}: {problem}"
    return None


def _slug(value: str) -> str | None:
    return None if SLUG.match(value) else f"'{value}' must be lower-case letters, digits and -"


def _timezone(value: str) -> str | None:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        return f"'{value}' is not an IANA time zone name such as Asia/Makassar"
    return None


def _schedule(value: str) -> str | None:
    if INTERVAL.match(value.strip()):
        seconds = parse_interval_seconds(value)
        return None if seconds and seconds > 0 else "the interval must be more than 0"
    fields = value.split()
    if len(fields) == 5 and all(CRON_FIELD.match(f) for f in fields):
        return None
    return (
        f"'{value}' is neither 'every N s', 'every N m', 'every N h' nor a 5-field cron "
        "expression such as '*/30 * * * *'"
    )


def _non_negative(value: int) -> str | None:
    return None if value >= 0 else f"{value} must be 0 or more"


def _port(value: int) -> str | None:
    return None if 0 < value < 65536 else f"{value} is not a TCP port (1-65535)"


def _hhmm(value: str) -> str | None:
    return None if HHMM.match(value) else f"'{value}' must be a time HH:MM, e.g. 07:00"


def _emails(value: list[str]) -> str | None:
    bad = [v for v in value if not re.match(r"^[^@\s]+@[^@\s]+\.[^@\s]+$", v)]
    return f"not e-mail addresses: {', '.join(bad)}" if bad else None


def parse_interval_seconds(schedule: str) -> int | None:
    """Seconds of an 'every N s/m/h' schedule; None for a cron expression."""
    match = INTERVAL.match(schedule.strip())
    if not match:
        return None
    return int(match.group(1)) * {"s": 1, "m": 60, "h": 3600}[match.group(2)]


TOP = {
    "database": Key(str, "monitor.db", check=_path_text),
    "reports_dir": Key(str, "reports", check=_path_text),
    "timezone": Key(str, DEFAULT_TIMEZONE, check=_timezone),
    "default_region": Key(str, ""),
    "privacy": Key("table", dict),
    "digest": Key("table", dict),
    "regions": Key(list, list),
    "agencies": Key(list, list),
    "sources": Key(list, list),
    "http": Key("table", dict),
    "ingest": Key("table", dict),
    "schedule": Key("table", dict),
    "operations": Key("table", dict),
}
PRIVACY = {
    "raw_retention_days": Key(int, 30, check=_non_negative),
    "post_retention_days": Key(int, 0, check=_non_negative),
    "pseudonym_key_env": Key(str, "MONITOR_PSEUDONYM_KEY", check=_env_name),
    "show_author_handles": Key(bool, False),
}


def _agency_recipients(value: dict) -> str | None:
    for agency, addresses in value.items():
        if not isinstance(addresses, list) or not all(isinstance(a, str) for a in addresses):
            return f"{agency}: must be a list of e-mail addresses"
        if problem := _emails(addresses):
            return f"{agency}: {problem}"
    return None


DIGEST = {
    "recipients": Key("list[str]", list, check=_emails),
    "agency_recipients": Key("table", dict, check=_agency_recipients),
    "send_time": Key(str, "07:00", check=_hhmm),
    "language": Key(str, "id", check=_one_of(("id",))),
    "smtp": Key("table", dict),
}
SMTP = {
    "host": Key(str, ""),
    "port": Key(int, 587, check=_port),
    "starttls": Key(bool, True),
    "username_env": Key(str, "", check=_env_name),
    "password_env": Key(str, "", check=_env_name),
    "sender": Key(str, ""),
}
REGION = {
    "id": Key(str, "", required=True, check=_slug),
    "name": Key(str, "", required=True),
    "places": Key("list[str]", list),
    "within": Key(str, ""),
}
AGENCY = {
    "id": Key(str, "", required=True, check=_slug),
    "name": Key(str, "", required=True),
    "short_name": Key(str, ""),
    "sector": Key(str, "lainnya", required=True, check=_one_of(tuple(SECTORS))),
    "region": Key(str, "", required=True),
    "aliases": Key("list[str]", list),
    "generic_aliases": Key("list[str]", list),
    "handles": Key("list[str]", list),
    "hashtags": Key("list[str]", list),
    "places": Key("list[str]", list),
}
SOURCE = {
    "name": Key(str, "", required=True, check=_slug),
    "type": Key(str, "", required=True, check=_one_of(SOURCE_TYPES)),
    "enabled": Key(bool, True),
    "schedule": Key(str, "every 60m", check=_schedule),
    "region": Key(str, ""),
    "queries": Key("list[str]", list),
    "base_url": Key(str, ""),
    "credentials": Key("dict[str,str]", dict, check=_env_names),
    "path": Key(str, "", check=_path_text),
}


def _positive(value: int | float) -> str | None:
    return None if value > 0 else f"{value} must be more than 0"


HTTP = {
    "timeout_seconds": Key((int, float), 20.0, check=_positive),
    "retries": Key(int, 3, check=_non_negative),
    "max_wait_seconds": Key(int, 60, check=_non_negative),
    "contact": Key(str, ""),
    "source_budget_seconds": Key(int, 600, check=_positive),
}
INGEST = {
    "host": Key(str, "127.0.0.1"),
    "port": Key(int, 8787, check=_port),
    "secret_env": Key(str, "MONITOR_INGEST_SECRET", check=_env_name),
    "max_body_bytes": Key(int, 1_000_000, check=_positive),
    "max_clock_skew_seconds": Key(int, 300, check=_positive),
    "source": Key(str, "ingest", check=_slug),
    "timeout_seconds": Key((int, float), 30.0, check=_positive),
    "backlog": Key(int, 1024, check=_positive),
    "threads": Key(int, 4, check=_positive),
    "max_connections": Key(int, 500, check=_positive),
}
OPERATIONS = {
    "heartbeat_url": Key(
        str,
        "",
        check=lambda v: (
            None
            if v == "" or v.startswith(("http://", "https://"))
            else f"'{v[:4]}…' must be an http(s) URL"
        ),
    ),
    "log_file": Key(str, ""),
    "log_max_bytes": Key(int, 10_000_000, check=_positive),
    "log_backups": Key(int, 5, check=_non_negative),
}
SCHEDULE = {
    "process_every": Key(str, "every 10m", check=_schedule),
    "misfire_grace_seconds": Key(int, 300, check=_positive),
}
# Keys only a source of one type takes; their values land in SourceConfig.options.
SOURCE_TYPE_KEYS: dict[str, dict[str, Key]] = {
    "x": {
        # X answers at least 10 posts a request: a smaller budget would fetch nothing.
        "max_posts_per_run": Key(
            int, 500, check=lambda v: None if v >= 10 else f"{v} must be 10 or more"
        ),
        "max_posts_per_month": Key(int, 10_000, check=_positive),
        "exclude_retweets": Key(bool, False),
        "lang": Key(str, "id"),
    },
    "mastodon": {
        "max_pages": Key(int, 10, check=_positive),
    },
    "bluesky": {
        "lang": Key(str, "id"),
        "max_pages": Key(int, 10, check=_positive),
    },
    "youtube": {
        "channels": Key("list[str]", list),
        "max_videos_per_query": Key(int, 5, check=_positive),
        "max_comment_pages": Key(int, 5, check=_positive),
        "published_within_days": Key(int, 7, check=_positive),
    },
    "rss": {
        "feeds": Key("list[str]", list),
        "google_news": Key(bool, True),
    },
    "file_import": {
        "format": Key(str, "csv", check=_one_of(("csv", "jsonl"))),
        "columns": Key("dict[str,str]", dict),
        "time_format": Key(str, ""),
        "platform": Key(str, ""),
        "encoding": Key(str, "utf-8"),
        "delimiter": Key(str, ","),
    },
    "replay": {},
}


def _read_source(item: Any, where: str, problems: list[str]) -> SourceConfig:
    source_type = item.get("type") if isinstance(item, dict) else None
    own = SOURCE_TYPE_KEYS.get(source_type, {}) if isinstance(source_type, str) else {}
    values = _read_section(item, SOURCE | own, where, problems)
    options = {key: values.pop(key) for key in own}
    return SourceConfig(**values, options=options)


def _unique(items: list[Any], attr: str, where: str, problems: list[str]) -> None:
    seen: set[str] = set()
    for index, item in enumerate(items):
        value = getattr(item, attr)
        if value and value in seen:
            problems.append(f"{where}[{index}].{attr}: '{value}' is used twice")
        seen.add(value)


def _resolve(base: Path, value: str) -> Path:
    path = Path(value).expanduser()
    return path if path.is_absolute() else base / path


def config_from_dict(data: dict[str, Any], base_dir: Path, path: Path | None = None) -> Config:
    """Validate parsed TOML and build the typed config; raise ConfigError listing all problems."""
    problems: list[str] = []
    top = _read_section(data, TOP, "", problems)
    privacy = PrivacyConfig(**_read_section(top["privacy"], PRIVACY, "privacy", problems))
    digest_values = _read_section(top["digest"], DIGEST, "digest", problems)
    smtp = SmtpConfig(**_read_section(digest_values.pop("smtp"), SMTP, "digest.smtp", problems))
    digest = DigestConfig(**digest_values, smtp=smtp)

    def tables(key: str, spec: dict[str, Key], record: type) -> list[Any]:
        built = []
        for index, item in enumerate(top[key]):
            built.append(record(**_read_section(item, spec, f"{key}[{index}]", problems)))
        return built

    regions = tables("regions", REGION, RegionConfig)
    agencies = tables("agencies", AGENCY, AgencyConfig)
    sources = [
        _read_source(item, f"sources[{index}]", problems)
        for index, item in enumerate(top["sources"])
    ]
    http = HttpConfig(**_read_section(top["http"], HTTP, "http", problems))
    ingest = IngestConfig(**_read_section(top["ingest"], INGEST, "ingest", problems))
    schedule = ScheduleConfig(**_read_section(top["schedule"], SCHEDULE, "schedule", problems))
    operations = OperationsConfig(
        **_read_section(top["operations"], OPERATIONS, "operations", problems)
    )
    if privacy.post_retention_days and privacy.post_retention_days < privacy.raw_retention_days:
        problems.append(
            "privacy.post_retention_days: must be 0 (keep) or at least raw_retention_days"
        )
    if operations.log_file:
        operations.log_file = str(_resolve(base_dir, operations.log_file))
    _unique(regions, "id", "regions", problems)
    _unique(agencies, "id", "agencies", problems)
    _unique(sources, "name", "sources", problems)

    region_ids = [r.id for r in regions]
    if region_ids:
        region_check = _one_of(region_ids)
        for where, items in (("agencies", agencies), ("sources", sources)):
            for index, item in enumerate(items):
                if item.region and (problem := region_check(item.region)):
                    problems.append(f"{where}[{index}].region: {problem}")
        if top["default_region"] and (problem := region_check(top["default_region"])):
            problems.append(f"default_region: {problem}")
    if digest.recipients or digest.agency_recipients:
        if not smtp.host:
            problems.append("digest.smtp.host: required when the digest has recipients")
        if not smtp.sender:
            problems.append("digest.smtp.sender: required when the digest has recipients")
    for index, source in enumerate(sources):
        if source.type == "file_import" and source.enabled and not source.path:
            problems.append(
                f"sources[{index}].path: required for an enabled file_import source (the file "
                "each run reads); to use the source only as a column mapping for "
                f"'monitor import FILE --source {source.name}', set enabled = false"
            )
    agency_ids = {a.id for a in agencies}
    for agency_id in digest.agency_recipients:
        if agency_id not in agency_ids:
            problems.append(
                f"digest.agency_recipients.{agency_id}: not an agency id in [[agencies]]"
            )

    if problems:
        raise ConfigError(problems, path)
    for source in sources:
        if source.path:
            source.path = str(_resolve(base_dir, source.path))
    return Config(
        database=_resolve(base_dir, top["database"]),
        reports_dir=_resolve(base_dir, top["reports_dir"]),
        timezone=top["timezone"],
        default_region=top["default_region"],
        privacy=privacy,
        digest=digest,
        regions=regions,
        agencies=agencies,
        sources=sources,
        http=http,
        ingest=ingest,
        schedule=schedule,
        operations=operations,
        path=path,
    )


def load_config(path: Path) -> Config:
    """Read and validate a config file. Raises ConfigError with every problem found."""
    path = Path(path)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise ConfigError(
            [f"{path}: no such file; create one with 'monitor init {path}'"], path
        ) from None
    except OSError as exc:
        raise ConfigError([f"{path}: cannot be read ({exc.strerror})"], path) from None
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise ConfigError([f"{path}: not UTF-8 text (byte {exc.start})"], path) from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError([f"{path}: not valid TOML: {exc}"], path) from None
    return config_from_dict(data, path.resolve().parent, path)


def example_config_text() -> str:
    """The documented Kota Kupang / NTT example that ships with the package."""
    return resources.files("monitor.data").joinpath("example_config.toml").read_text("utf-8")


def example_config(base_dir: Path) -> Config:
    """The shipped example, with its relative paths resolved against ``base_dir``."""
    return config_from_dict(tomllib.loads(example_config_text()), base_dir)
