"""The secrets a run holds, and the one mask every error text passes before it is kept or shown.

A remote API may echo a credential back ("Record not found for Bearer <token>"),
an SMTP server may quote the user name. Such text reaches the log (masked by
``logsetup.SecretFilter``), and it reaches the run records in the database, which
doctor, the digest footer and the e-mail read. The store masks every error text
with a ``SecretMask`` of the configured secrets' values as it writes it and again
as it reads it (rows kept before a secret was configured), and the run prints
what the store kept, so stdout never holds more than the database.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING
from urllib.parse import quote

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
    ]
    return list(dict.fromkeys(name for name in names if name))


def secret_values(config: Config, environ: Mapping[str, str] = os.environ) -> list[str]:
    """The values of those variables that are set (at least 4 characters), longest first."""
    values = {environ.get(name, "") for name in secret_env_names(config)}
    return sorted(
        (value for value in values if len(value) >= MIN_SECRET_LENGTH),
        key=lambda value: (-len(value), value),
    )
