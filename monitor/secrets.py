"""The secrets a run holds, and the one mask every error text passes before it is kept or shown.

A remote API may echo a credential back ("Record not found for Bearer <token>"),
an SMTP server may quote the user name. Such text reaches the log (masked by
``logsetup.SecretFilter``), and it reaches the run records in the database, which
doctor, the digest footer and the e-mail read. The store masks every error text
with a ``SecretMask`` of the configured secrets' values as it writes it and again
as it reads it (rows kept before a secret was configured), and the run prints
what the store kept, so stdout never holds more than the database.

``config_secret_warnings`` finds values in the config file that look like secrets
put there by mistake (the config names environment variables; the values live there).
"""

from __future__ import annotations

import math
import os
import re
import tomllib
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlsplit

from monitor.config import ENV_NAME

if TYPE_CHECKING:
    from monitor.config import Config

MASK = "***"
MIN_SECRET_LENGTH = 4  # shorter values would mask ordinary words


class SecretMask:
    """Replaces each secret value, as written and as URL-quoted, with ``***``."""

    def __init__(self, secrets: Iterable[str] = ()):
        variants: set[str] = set()
        for secret in secrets:
            if secret and len(secret) >= MIN_SECRET_LENGTH:
                variants.add(secret)
                variants.add(quote(secret, safe=""))  # as it appears in a URL
        # Longest first, so a secret that contains another is masked whole.
        self.secrets = sorted(variants, key=lambda s: (-len(s), s))

    def __bool__(self) -> bool:
        return bool(self.secrets)

    def __call__(self, text: str) -> str:
        for secret in self.secrets:
            if secret in text:
                text = text.replace(secret, MASK)
        return text


def secret_env_names(config: Config) -> list[str]:
    """Every environment variable the config names as holding a secret."""
    names = [env for source in config.sources for env in source.credentials.values()]
    names += [
        config.digest.smtp.username_env,
        config.digest.smtp.password_env,
        config.privacy.pseudonym_key_env,
        config.ingest.secret_env,
        config.web.secret_key_env,
    ]
    return list(dict.fromkeys(name for name in names if name))


def secret_values(config: Config, environ: Mapping[str, str] = os.environ) -> list[str]:
    """The values of those variables that are set (at least 4 characters), longest first."""
    values = {environ.get(name, "") for name in secret_env_names(config)}
    return sorted(
        (value for value in values if len(value) >= MIN_SECRET_LENGTH),
        key=lambda value: (-len(value), value),
    )


# --- values in the config file that look like secrets put there by mistake ----------


# Keys whose values are words people write, never credentials.
_NOT_SECRET_KEYS = frozenset({"aliases", "places", "queries", "name", "short_name"})
_URL = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*://")
_TOKEN_CHARS = re.compile(r"^[A-Za-z0-9_\-+/=.~:]+$")
_KNOWN_PREFIXES = (
    ("AAAAAAAAAAAAAAAAAAAAA", "an X (Twitter) bearer token"),
    ("github_pat_", "a GitHub token"),
    ("ghp_", "a GitHub token"),
    ("gho_", "a GitHub token"),
    ("ghs_", "a GitHub token"),
    ("glpat-", "a GitLab token"),
    ("xoxb-", "a Slack token"),
    ("xoxp-", "a Slack token"),
    ("xapp-", "a Slack token"),
    ("AIza", "a Google API key"),
    ("eyJ", "a JSON Web Token"),
    ("sk-", "an API secret key"),
    ("AKIA", "an AWS access key"),
)
_APP_PASSWORD = re.compile(r"^[a-z0-9]{4}-[a-z0-9]{4}-[a-z0-9]{4}-[a-z0-9]{4}$")


def _entropy(value: str) -> float:
    """Shannon entropy in bits per character."""
    counts: dict[str, int] = {}
    for char in value:
        counts[char] = counts.get(char, 0) + 1
    return -sum(n / len(value) * math.log2(n / len(value)) for n in counts.values())


def _class_switches(run: str) -> int:
    """Changes between letter, digit, upper and lower case inside one unbroken run.

    Words, dates, slugs and paths switch rarely within a run; random tokens do
    all the time ('xK9fQ2mZ7p').
    """
    kinds = ["d" if c.isdigit() else "u" if c.isupper() else "l" for c in run]
    return sum(a != b for a, b in zip(kinds, kinds[1:], strict=False))


def secret_reason(value: str) -> str | None:
    """Why ``value`` looks like a credential, or None when it does not."""
    text = value.strip()
    if "-----BEGIN" in text and "KEY" in text:
        return "a private key"
    if _URL.match(text):
        parts = urlsplit(text)
        return "a URL with a password in it" if parts.password else None
    if any(c.isspace() for c in text):
        return None
    if _APP_PASSWORD.match(text):
        return "a Bluesky app password"
    if len(text) < 20:
        return None
    for prefix, kind in _KNOWN_PREFIXES:
        if text.startswith(prefix):
            return kind
    if not _TOKEN_CHARS.match(text):
        return None
    runs = re.findall(r"[A-Za-z0-9]+", text)
    switches = sum(_class_switches(run) for run in runs)
    has_digit = any(c.isdigit() for c in text)
    has_letter = any(c.isalpha() for c in text)
    entropy = _entropy(text)
    if has_digit and has_letter and switches >= 4 and entropy >= 3.3:
        return "a random token (long mix of letters and digits)"
    if not has_digit and len(text) >= 24 and switches >= 10 and entropy >= 4.0:
        return "a random token (long mix of upper- and lower-case letters)"
    return None


def _walk(value: Any, where: str, names_env: bool = False) -> Iterator[tuple[str, str, bool]]:
    """(key path, string value, whether the key holds an environment variable NAME)."""
    if isinstance(value, dict):
        for key, item in value.items():
            if key in _NOT_SECRET_KEYS:
                continue
            holds_names = str(key).endswith("_env") or key == "credentials"
            yield from _walk(item, f"{where}.{key}" if where else str(key), holds_names)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _walk(item, f"{where}[{index}]", names_env)
    elif isinstance(value, str):
        yield where, value, names_env


def config_secret_warnings(config_path: Path) -> list[str]:
    """Warnings for values in the TOML file that look like secrets put there by mistake.

    Each names the key and why, and shows only the value's first 4 characters.
    Search terms (``aliases``, ``places``, ``queries``) and names are not checked;
    URLs only for a password in them. A key that takes an environment variable
    NAME (``*_env``, ``credentials``) is flagged for anything that is not one.
    """
    try:
        data = tomllib.loads(Path(config_path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        return [f"{config_path}: not checked for secrets ({type(exc).__name__})"]
    warnings = []
    for where, value, names_env in _walk(data, ""):
        reason = secret_reason(value)
        if not reason and names_env and value and not ENV_NAME.match(value):
            reason = "the secret itself: this key takes the NAME of an environment variable"
        if reason:
            warnings.append(
                f"{where}: value '{value.strip()[:4]}…' looks like {reason}; secrets belong "
                "in an environment variable whose NAME the config gives"
            )
    return warnings
