"""The typed records of the configuration, each followed by the keys its table takes.

A default is written once, in the dataclass; the key spec adds each key's type and
check and takes the default from the field (``keys_for``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from monitor.clock import DEFAULT_TIMEZONE
from monitor.config.keys import (
    ConfigError,
    Key,
    emails,
    env_name,
    env_names,
    hhmm,
    http_url,
    keys_for,
    non_negative,
    one_of,
    path_text,
    positive,
    schedule_expression,
    slug,
    tcp_port,
    zone_name,
)
from monitor.labels import SECTORS


@dataclass
class SmtpConfig:
    host: str = ""
    port: int = 587
    starttls: bool = True
    username_env: str = ""
    password_env: str = ""
    sender: str = ""


SMTP = keys_for(
    SmtpConfig,
    host=Key(str),
    port=Key(int, check=tcp_port),
    starttls=Key(bool),
    username_env=Key(str, check=env_name),
    password_env=Key(str, check=env_name),
    sender=Key(str),
)


@dataclass
class DigestConfig:
    recipients: list[str] = field(default_factory=list)
    # agency id -> addresses that receive only that agency's part of the digest
    agency_recipients: dict[str, list[str]] = field(default_factory=dict)
    send_time: str = "07:00"
    language: str = "id"
    smtp: SmtpConfig = field(default_factory=SmtpConfig)


def _agency_recipients(value: dict) -> str | None:
    for agency, addresses in value.items():
        if not isinstance(addresses, list) or not all(isinstance(a, str) for a in addresses):
            return f"{agency}: must be a list of e-mail addresses"
        if problem := emails(addresses):
            return f"{agency}: {problem}"
    return None


DIGEST = keys_for(
    DigestConfig,
    recipients=Key("list[str]", check=emails),
    agency_recipients=Key("table", check=_agency_recipients),
    send_time=Key(str, check=hhmm),
    language=Key(str, check=one_of(("id",))),
    smtp=Key("table"),
)


@dataclass
class PrivacyConfig:
    raw_retention_days: int = 30
    post_retention_days: int = 0  # delete whole posts after this many days; 0 = keep
    pseudonym_key_env: str = "MONITOR_PSEUDONYM_KEY"
    show_author_handles: bool = False


PRIVACY = keys_for(
    PrivacyConfig,
    raw_retention_days=Key(int, check=non_negative),
    post_retention_days=Key(int, check=non_negative),
    pseudonym_key_env=Key(str, check=env_name),
    show_author_handles=Key(bool),
)


@dataclass
class OperationsConfig:
    heartbeat_url: str = ""  # pinged (GET) after every successful run
    log_file: str = ""  # also log to this file, rotated; "" = stderr only
    log_max_bytes: int = 10_000_000
    log_backups: int = 5


OPERATIONS = keys_for(
    OperationsConfig,
    heartbeat_url=Key(str, check=http_url),
    log_file=Key(str),
    log_max_bytes=Key(int, check=positive),
    log_backups=Key(int, check=non_negative),
)


@dataclass
class RegionConfig:
    id: str
    name: str
    places: list[str] = field(default_factory=list)
    within: str = ""  # the larger region this one lies in (a city within its province)


REGION = keys_for(
    RegionConfig,
    id=Key(str, required=True, check=slug),
    name=Key(str, required=True),
    places=Key("list[str]"),
    within=Key(str),
)


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


AGENCY = keys_for(
    AgencyConfig,
    id=Key(str, required=True, check=slug),
    name=Key(str, required=True),
    short_name=Key(str),
    sector=Key(str, required=True, check=one_of(tuple(SECTORS))),
    region=Key(str, required=True),
    aliases=Key("list[str]"),
    generic_aliases=Key("list[str]"),
    handles=Key("list[str]"),
    hashtags=Key("list[str]"),
    places=Key("list[str]"),
)


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


# The keys every source takes; the loader adds the check of ``type`` and the keys of
# that type, both from the collectors' registry (monitor.collectors.source_types).
SOURCE = keys_for(
    SourceConfig,
    name=Key(str, required=True, check=slug),
    type=Key(str, required=True),
    enabled=Key(bool),
    schedule=Key(str, check=schedule_expression),
    region=Key(str),
    queries=Key("list[str]"),
    base_url=Key(str),
    credentials=Key("dict[str,str]", check=env_names),
    path=Key(str, check=path_text),
)


@dataclass
class HttpConfig:
    timeout_seconds: float = 20.0
    retries: int = 3
    max_wait_seconds: int = 60  # wait out a rate limit this short; stop the source if longer
    contact: str = ""  # put in the User-Agent so API owners can reach the operator
    source_budget_seconds: int = 600  # one source's share of one run, waits included


HTTP = keys_for(
    HttpConfig,
    timeout_seconds=Key((int, float), check=positive),
    retries=Key(int, check=non_negative),
    max_wait_seconds=Key(int, check=non_negative),
    contact=Key(str),
    source_budget_seconds=Key(int, check=positive),
)


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


INGEST = keys_for(
    IngestConfig,
    host=Key(str),
    port=Key(int, check=tcp_port),
    secret_env=Key(str, check=env_name),
    max_body_bytes=Key(int, check=positive),
    max_clock_skew_seconds=Key(int, check=positive),
    source=Key(str, check=slug),
    timeout_seconds=Key((int, float), check=positive),
    backlog=Key(int, check=positive),
    threads=Key(int, check=positive),
    max_connections=Key(int, check=positive),
)


@dataclass
class ScheduleConfig:
    process_every: str = "every 10m"
    misfire_grace_seconds: int = 300


SCHEDULE = keys_for(
    ScheduleConfig,
    process_every=Key(str, check=schedule_expression),
    misfire_grace_seconds=Key(int, check=positive),
)


@dataclass
class ModelConfig:
    # A newly activated model re-analyses the posts of this many days back; older days
    # keep the analyses and counts they have.
    reanalyse_days: int = 30


MODEL = keys_for(ModelConfig, reanalyse_days=Key(int, check=positive))


@dataclass
class WebConfig:
    # NAME of the env var holding the session signing key; unset = a random key kept in
    # web_secret.key beside the database (mode 0600), so sessions survive restarts.
    secret_key_env: str = "MONITOR_WEB_SECRET"
    secure_cookies: bool = True  # cookies only over HTTPS (it runs behind a TLS proxy)
    session_hours: int = 12  # a login lasts this long


WEB = keys_for(
    WebConfig,
    secret_key_env=Key(str, check=env_name),
    secure_cookies=Key(bool),
    session_hours=Key(int, check=positive),
)


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
    model: ModelConfig = field(default_factory=ModelConfig)
    web: WebConfig = field(default_factory=WebConfig)
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


# The top level. The two paths have no dataclass default: the loader resolves them
# against the config's folder, so the file's relative default is written here.
TOP = keys_for(
    Config,
    database=Key(str, "monitor.db", check=path_text),
    reports_dir=Key(str, "reports", check=path_text),
    timezone=Key(str, check=zone_name),
    default_region=Key(str),
    privacy=Key("table"),
    digest=Key("table"),
    regions=Key(list),
    agencies=Key(list),
    sources=Key(list),
    http=Key("table"),
    ingest=Key("table"),
    schedule=Key("table"),
    operations=Key("table"),
    model=Key("table"),
    web=Key("table"),
)
