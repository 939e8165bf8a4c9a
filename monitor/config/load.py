"""Read a TOML file (or parsed TOML) into a validated ``Config``."""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import replace
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

from monitor.config.keys import ConfigError, Key, one_of, read_section
from monitor.config.sections import (
    AGENCY,
    DIGEST,
    HTTP,
    INGEST,
    MODEL,
    OPERATIONS,
    PRIVACY,
    REGION,
    SCHEDULE,
    SMTP,
    SOURCE,
    TOP,
    WEB,
    AgencyConfig,
    Config,
    DigestConfig,
    HttpConfig,
    IngestConfig,
    ModelConfig,
    OperationsConfig,
    PrivacyConfig,
    RegionConfig,
    ScheduleConfig,
    SmtpConfig,
    SourceConfig,
    WebConfig,
)

if TYPE_CHECKING:
    from monitor.collectors import SourceType


def _read_source(
    item: Any, where: str, types: Mapping[str, SourceType], problems: list[str]
) -> SourceConfig:
    """A source's common keys, and the keys of its type (declared by its collector),
    which land in ``options``."""
    source_type = item.get("type") if isinstance(item, dict) else None
    own: Mapping[str, Key] = {}
    if isinstance(source_type, str) and source_type in types:
        own = types[source_type].options
    type_key = replace(SOURCE["type"], check=one_of(tuple(types)))
    values = read_section(item, {**SOURCE, "type": type_key, **own}, where, problems)
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
    # Imported here: the collectors import this package's records, and `import
    # monitor.config` stays free of them (and of httpx) until a config is read.
    from monitor.collectors import source_types

    types = source_types()
    problems: list[str] = []
    top = read_section(data, TOP, "", problems)
    privacy = PrivacyConfig(**read_section(top["privacy"], PRIVACY, "privacy", problems))
    digest_values = read_section(top["digest"], DIGEST, "digest", problems)
    smtp = SmtpConfig(**read_section(digest_values.pop("smtp"), SMTP, "digest.smtp", problems))
    digest = DigestConfig(**digest_values, smtp=smtp)

    def tables(key: str, spec: dict[str, Key], record: type) -> list[Any]:
        built = []
        for index, item in enumerate(top[key]):
            built.append(record(**read_section(item, spec, f"{key}[{index}]", problems)))
        return built

    regions = tables("regions", REGION, RegionConfig)
    agencies = tables("agencies", AGENCY, AgencyConfig)
    sources = [
        _read_source(item, f"sources[{index}]", types, problems)
        for index, item in enumerate(top["sources"])
    ]
    http = HttpConfig(**read_section(top["http"], HTTP, "http", problems))
    ingest = IngestConfig(**read_section(top["ingest"], INGEST, "ingest", problems))
    schedule = ScheduleConfig(**read_section(top["schedule"], SCHEDULE, "schedule", problems))
    operations = OperationsConfig(
        **read_section(top["operations"], OPERATIONS, "operations", problems)
    )
    model = ModelConfig(**read_section(top["model"], MODEL, "model", problems))
    web = WebConfig(**read_section(top["web"], WEB, "web", problems))
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
        region_check = one_of(region_ids)
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
        if source.type in types:
            problems.extend(
                f"sources[{index}].{problem}" for problem in types[source.type].problems(source)
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
        model=model,
        web=web,
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
