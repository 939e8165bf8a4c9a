"""The validation machinery: a key's type, default and check, and reading a table by them.

Every problem is collected, not raised, so a config names all its mistakes at once,
each with its key and what is allowed.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Mapping
from dataclasses import MISSING, dataclass, fields, is_dataclass, replace
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

# \Z, not $: "$" also matches before a trailing newline ("replay\n" is no slug).
ENV_NAME = re.compile(r"^[A-Z_][A-Z0-9_]*\Z")
SLUG = re.compile(r"^[a-z0-9][a-z0-9-]*\Z")
INTERVAL = re.compile(r"^every\s+(\d+)\s*([smh])\Z")
CRON_FIELD = re.compile(r"^[0-9*/,\-a-zA-Z]+\Z")
HHMM = re.compile(r"^([01]\d|2[0-3]):[0-5]\d\Z")


class _NoDefault:
    def __repr__(self) -> str:
        return "NO_DEFAULT"


NO_DEFAULT: Any = _NoDefault()  # (dataclasses.MISSING would make Key's default required)
Check = Callable[[Any], str | None]  # returns a problem description or None
Kind = type | tuple[type, ...] | str  # str, int, bool, (int, float), "list[str]", "table", ...


class ConfigError(Exception):
    """The configuration cannot be used; ``problems`` lists every reason."""

    def __init__(self, problems: list[str], path: Path | None = None):
        self.problems = problems
        self.path = path
        where = f" in {path}" if path else ""
        super().__init__(f"{len(problems)} problem(s){where}:\n  " + "\n  ".join(problems))


@dataclass(frozen=True)
class Key:
    """One key of a table. ``default`` is a value or a zero-argument factory (for
    lists and tables); a key of a section record takes it from the record's field
    (see ``keys_for``), so it is written there and not here."""

    kind: Kind
    default: Any = NO_DEFAULT
    required: bool = False
    check: Check | None = None

    def initial(self) -> Any:
        """The value of an absent (or unusable) key: its default, or a blank of its
        kind for a required key, which stands in only until the problem is reported."""
        if self.default is NO_DEFAULT:
            return _BLANKS.get(self.kind, str)()
        return self.default() if callable(self.default) else self.default


_BLANKS: dict[Kind, Callable[[], Any]] = {
    int: int,
    bool: bool,
    (int, float): int,
    list: list,
    "list[str]": list,
    "dict[str,str]": dict,
    "table": dict,
}


def keys_for(record: type, **keys: Key) -> dict[str, Key]:
    """The key spec of a section read into the dataclass ``record``, each key's
    default taken from the field of the same name. A key whose field has no default
    (a path the loader resolves, a required id) or that has no field gives its own;
    giving one where the field has one too is a TypeError, so no default is written twice.
    A field holding a nested section is read from a table that may be absent."""
    record_fields = {item.name: item for item in fields(record)}
    spec: dict[str, Key] = {}
    for name, key in keys.items():
        default = _field_default(record_fields.get(name))
        if default is not NO_DEFAULT:
            if key.default is not NO_DEFAULT:
                raise TypeError(f"{record.__name__}.{name}: default written twice")
            key = replace(key, default=default)
        elif key.default is NO_DEFAULT and not key.required:
            raise TypeError(f"{record.__name__}.{name}: no default")
        spec[name] = key
    return spec


def _field_default(item: Any) -> Any:
    if item is None:
        return NO_DEFAULT
    if item.default is not MISSING:
        return item.default
    if item.default_factory is MISSING:
        return NO_DEFAULT
    if is_dataclass(item.default_factory):
        return dict  # a nested section: an absent table means all its defaults
    return item.default_factory


def with_defaults(spec: Mapping[str, Key], given: Mapping[str, Any]) -> dict[str, Any]:
    """``given`` completed with the defaults of ``spec`` (a record built in code, not
    read from a file, may name only some keys)."""
    return {name: given[name] if name in given else key.initial() for name, key in spec.items()}


def type_ok(value: Any, kind: Kind) -> bool:
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
    assert not isinstance(kind, str), kind
    return isinstance(value, kind)


def kind_name(kind: Kind) -> str:
    names = {str: "a string", int: "a whole number", bool: "true or false", list: "a list"}
    if kind == (int, float):
        return "a number"
    if isinstance(kind, type):
        return names.get(kind, kind.__name__)
    return {
        "list[str]": "a list of strings",
        "dict[str,str]": "a table of strings",
    }.get(str(kind), "a table")


def read_section(
    data: Any, spec: Mapping[str, Key], where: str, problems: list[str]
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
                problems.append(f"{prefix}{key}: required, {kind_name(rule.kind)}")
            values[key] = rule.initial()
            continue
        value = data[key]
        if not type_ok(value, rule.kind):
            problems.append(f"{prefix}{key}: must be {kind_name(rule.kind)}, got {glimpse(value)}")
            values[key] = rule.initial()
            continue
        if rule.check and (problem := rule.check(value)):
            problems.append(f"{prefix}{key}: {problem}")
        values[key] = value
    return values


def glimpse(value: Any) -> str:
    """A wrong value named without revealing it: a mistaken secret must not reach logs."""
    if isinstance(value, str):
        return f"a string starting '{value[:4]}…'" if len(value) > 4 else repr(value)
    return type(value).__name__


# --- checks -----------------------------------------------------------------------------


def path_text(value: str) -> str | None:
    if any(ord(c) < 32 for c in value):
        return "a path must not contain control characters (NUL, newline, ...)"
    return None


def one_of(choices: tuple[str, ...] | list[str]) -> Check:
    def check(value: str) -> str | None:
        if value in choices:
            return None
        hint = difflib.get_close_matches(value, list(choices), n=1)
        suggestion = f" (did you mean '{hint[0]}'?)" if hint else ""
        return f"'{value}' is not one of {', '.join(choices)}{suggestion}"

    return check


def env_name(value: str) -> str | None:
    if value == "" or ENV_NAME.match(value):
        return None
    return (
        f"'{value[:4]}…' is not an environment variable NAME (A-Z, 0-9, _); put the secret "
        "in the environment and its name here"
    )


def env_names(value: dict[str, str]) -> str | None:
    for name, env in value.items():
        if problem := env_name(env):
            return f"{name}: {problem}"
    return None


def slug(value: str) -> str | None:
    return None if SLUG.match(value) else f"'{value}' must be lower-case letters, digits and -"


def zone_name(value: str) -> str | None:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        return f"'{value}' is not an IANA time zone name such as Asia/Makassar"
    return None


def parse_interval_seconds(schedule: str) -> int | None:
    """Seconds of an 'every N s/m/h' schedule; None for a cron expression."""
    match = INTERVAL.match(schedule.strip())
    if not match:
        return None
    return int(match.group(1)) * {"s": 1, "m": 60, "h": 3600}[match.group(2)]


def schedule_expression(value: str) -> str | None:
    if INTERVAL.match(value.strip()):
        seconds = parse_interval_seconds(value)
        return None if seconds and seconds > 0 else "the interval must be more than 0"
    parts = value.split()
    if len(parts) == 5 and all(CRON_FIELD.match(f) for f in parts):
        return None
    return (
        f"'{value}' is neither 'every N s', 'every N m', 'every N h' nor a 5-field cron "
        "expression such as '*/30 * * * *'"
    )


def non_negative(value: int) -> str | None:
    return None if value >= 0 else f"{value} must be 0 or more"


def positive(value: int | float) -> str | None:
    return None if value > 0 else f"{value} must be more than 0"


def at_least(least: int) -> Check:
    def check(value: int) -> str | None:
        return None if value >= least else f"{value} must be {least} or more"

    return check


def tcp_port(value: int) -> str | None:
    return None if 0 < value < 65536 else f"{value} is not a TCP port (1-65535)"


def hhmm(value: str) -> str | None:
    return None if HHMM.match(value) else f"'{value}' must be a time HH:MM, e.g. 07:00"


def emails(value: list[str]) -> str | None:
    bad = [v for v in value if not re.match(r"^[^@\s]+@[^@\s]+\.[^@\s]+$", v)]
    return f"not e-mail addresses: {', '.join(bad)}" if bad else None


def http_url(value: str) -> str | None:
    if value == "" or value.startswith(("http://", "https://")):
        return None
    return f"'{value[:4]}…' must be an http(s) URL"
