"""Text understanding: normalisation and personal-data redaction."""

from monitor.text.normalize import clean, normalize, tokens
from monitor.text.redact import pseudonymise, redact

__all__ = ["clean", "normalize", "tokens", "pseudonymise", "redact"]
