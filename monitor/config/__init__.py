"""Load and validate the TOML configuration into typed records.

Every problem is collected and reported at once, each naming its key and what
is allowed, e.g. ``sources[2].type: 'twiter' is not one of x, mastodon, ...``.
Secrets never live in the file: it names the environment variables that hold them.

``keys`` holds the validation machinery, ``sections`` the records with their keys
(each default written once, in the record), ``load`` the reading of a file. The keys
of each source type are declared by its collector (``monitor.collectors``).
"""

from monitor.config.keys import ENV_NAME, ConfigError, Key, parse_interval_seconds
from monitor.config.load import config_from_dict, example_config, example_config_text, load_config
from monitor.config.sections import (
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

__all__ = [
    "ENV_NAME",
    "AgencyConfig",
    "Config",
    "ConfigError",
    "DigestConfig",
    "HttpConfig",
    "IngestConfig",
    "Key",
    "ModelConfig",
    "OperationsConfig",
    "PrivacyConfig",
    "RegionConfig",
    "ScheduleConfig",
    "SmtpConfig",
    "SourceConfig",
    "WebConfig",
    "config_from_dict",
    "example_config",
    "example_config_text",
    "load_config",
    "parse_interval_seconds",
]
