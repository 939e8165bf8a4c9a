"""Accounts of the web app: who may sign in, with which role, and what they did.

Two roles: ``ombudsman`` (staff of the Ombudsman office: every agency) and ``agency``
(staff of one agency of the config: only that agency). Passwords are kept only as a
salted scrypt hash (memory-hard, so a stolen database file is slow to guess from); an
API token only as its SHA-256, so the database never holds one that works. A login is
refused for a while after ``MAX_FAILED_LOGINS`` failures for one name, or from one
address, within ``LOGIN_WINDOW_MINUTES``. Changes to accounts are written to the
append-only audit log.

The SQL is the store's (``monitor.store.accounts``); here are the rules.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING

from monitor.clock import to_iso, utc_now
from monitor.store.rows import AuditEntry, UserRow

if TYPE_CHECKING:
    from monitor.store import Store

__all__ = [
    "LOGIN_WINDOW_MINUTES",
    "MAX_FAILED_LOGINS",
    "MIN_PASSWORD_LENGTH",
    "ROLES",
    "AccountError",
    "AuditEntry",
    "User",
    "add_user",
    "audit",
    "audit_log",
    "authenticate",
    "disable_user",
    "get_user",
    "hash_password",
    "list_users",
    "login_blocked",
    "new_token",
    "record_login",
    "revoke_tokens",
    "user_for_token",
    "verify_password",
]

ROLES = ("ombudsman", "agency")
MIN_PASSWORD_LENGTH = 12
MAX_PASSWORD_LENGTH = 1024
LOGIN_WINDOW_MINUTES = 15
MAX_FAILED_LOGINS = 5
TOKEN_PREFIX = "mon_"
LOGIN_ATTEMPTS_KEPT_DAYS = 30  # older attempts are deleted as new ones are recorded

# scrypt at n=2**15, r=8 needs 32 MiB and about a tenth of a second per hash.
_SCRYPT_N = 2**15
_SCRYPT_R = 8
_SCRYPT_P = 1
_SCRYPT_MAXMEM = 64 * 1024 * 1024
_SALT_BYTES = 16
_HASH_BYTES = 32

_NAME = re.compile(r"[a-z0-9._-]{3,40}")
# Verified for an unknown name, so its answer takes as long (of a random, forgotten password).
_DUMMY_HASH = (
    "scrypt$32768$8$1$07ilmcrVoX5gzocOlCf5gA==$Fh5iZT6K0JSxCiafkbdbctrlmrjpR6I6aYPwwE27cCE="
)


class AccountError(ValueError):
    """An account cannot be made or changed as asked; the message says what is wrong
    and how to fix it."""


@dataclass(frozen=True)
class User:
    """A user as the web app sees it (never the password hash)."""

    id: int
    name: str
    role: str
    agency_id: str | None
    disabled: bool
    created_at: str  # UTC ISO

    @property
    def is_staff(self) -> bool:
        """Staff of the Ombudsman office, who see every agency."""
        return self.role == "ombudsman"

    def can_see(self, agency_id: str) -> bool:
        """Whether this user may see ``agency_id``'s posts and numbers."""
        return self.is_staff or (self.agency_id is not None and agency_id == self.agency_id)


def _user(row: UserRow) -> User:
    return User(row.id, row.name, row.role, row.agency_id, row.disabled, row.created_at)


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _now() -> str:
    return to_iso(utc_now())


def _normal(name: str) -> str:
    """A typed name as stored: surrounding spaces dropped, lower case."""
    return name.strip().lower()


# --- passwords ----------------------------------------------------------------------


def hash_password(password: str) -> str:
    """ "scrypt$n$r$p$salt$hash" (salt and hash base64) with a fresh random salt."""
    salt = secrets.token_bytes(_SALT_BYTES)
    digest = hashlib.scrypt(
        password.encode("utf-8"),
        salt=salt,
        n=_SCRYPT_N,
        r=_SCRYPT_R,
        p=_SCRYPT_P,
        maxmem=_SCRYPT_MAXMEM,
        dklen=_HASH_BYTES,
    )
    return f"scrypt${_SCRYPT_N}${_SCRYPT_R}${_SCRYPT_P}${_b64(salt)}${_b64(digest)}"


def verify_password(password: str, stored: str) -> bool:
    """Whether ``password`` matches ``stored`` (from ``hash_password``); False for a
    stored value that is not one, never an exception."""
    try:
        scheme, n, r, p, salt_b64, hash_b64 = stored.split("$")
        if scheme != "scrypt":
            return False
        salt = base64.b64decode(salt_b64, validate=True)
        expected = base64.b64decode(hash_b64, validate=True)
        if not (16 <= len(expected) <= 64) or not salt or not 1 <= int(p) <= 16:
            return False
        digest = hashlib.scrypt(
            password.encode("utf-8", "surrogatepass"),
            salt=salt,
            n=int(n),
            r=int(r),
            p=int(p),
            maxmem=_SCRYPT_MAXMEM,
            dklen=len(expected),
        )
    except (ValueError, TypeError, AttributeError, binascii.Error, MemoryError):
        return False
    return hmac.compare_digest(digest, expected)


def _check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise AccountError(
            f"the password has {len(password)} characters; use at least "
            f"{MIN_PASSWORD_LENGTH} (a few unrelated words make a long one easy to remember)"
        )
    if len(password) > MAX_PASSWORD_LENGTH:
        raise AccountError(f"the password is longer than {MAX_PASSWORD_LENGTH} characters")
    if len(set(password)) == 1:
        raise AccountError("the password repeats one character; choose a real password")


def _check_name(name: str) -> None:
    if _NAME.fullmatch(name):
        return
    hint = ""
    if _NAME.fullmatch(name.lower()):
        hint = f" (write it in lower case: '{name.lower()}')"
    raise AccountError(
        f"user name '{name}' is not allowed{hint}: use 3 to 40 characters, each a lower-case "
        "letter a-z, a digit, '.', '_' or '-', e.g. 'maria.asisten'"
    )


def _check_role(role: str, agency_id: str | None, agency_ids: Iterable[str]) -> None:
    if role not in ROLES:
        raise AccountError(f"unknown role '{role}': choose one of {', '.join(ROLES)}")
    if role == "ombudsman":
        if agency_id:
            raise AccountError(
                "the role 'ombudsman' sees every agency and takes no agency; leave the "
                "agency out, or use the role 'agency' for staff of one agency"
            )
        return
    known = sorted(set(agency_ids))
    if not agency_id:
        raise AccountError(
            "the role 'agency' needs the agency the user works for: give its id from the "
            "config's [[agencies]]" + (f", e.g. '{known[0]}'" if known else "")
        )
    if agency_id not in known:
        raise AccountError(
            f"'{agency_id}' is not an agency id in the config's [[agencies]]; "
            + (
                f"the ids are: {', '.join(known)}"
                if known
                else "the config lists no agencies yet: add the agency first"
            )
        )


# --- users --------------------------------------------------------------------------


def add_user(
    store: Store,
    name: str,
    role: str,
    password: str,
    agency_id: str | None = None,
    agency_ids: Iterable[str] = (),
) -> User:
    """Make a user. ``agency_ids``: the config's agency ids, one of which an agency
    user's ``agency_id`` must be. AccountError names what is wrong."""
    _check_name(name)
    _check_role(role, agency_id, agency_ids)
    _check_password(password)
    if store.user_row(name) is not None:
        raise AccountError(
            f"a user '{name}' exists already; choose another name, or disable the old "
            "account first if it is to be replaced"
        )
    row = store.insert_user(
        name, role, agency_id if role == "agency" else None, hash_password(password), _now()
    )
    if row is None:  # made by someone else in the meantime
        raise AccountError(f"a user '{name}' exists already; choose another name")
    return _user(row)


def get_user(store: Store, name: str) -> User | None:
    row = store.user_row(_normal(name))
    return _user(row) if row else None


def list_users(store: Store) -> list[User]:
    """Every user, by name (disabled ones too)."""
    return [_user(row) for row in store.user_rows()]


def active_token_counts(store: Store) -> dict[str, int]:
    """How many API tokens not revoked each user has, by name."""
    return {row.name: row.active_tokens for row in store.user_rows()}


def _row(store: Store, name: str) -> UserRow:
    row = store.user_row(_normal(name))
    if row is None:
        raise AccountError(f"no user '{name}'; 'monitor users list' shows the users there are")
    return row


def disable_user(store: Store, name: str) -> User:
    """Disable the user for good and revoke its API tokens (in one transaction)."""
    row = _row(store, name)
    store.disable_user_row(row.id, _now())
    return _user(_row(store, name))


def authenticate(store: Store, name: str, password: str) -> User | None:
    """The user whose name and password these are; None for an unknown name, a disabled
    user or a wrong password (each takes one hash, so the time tells none apart)."""
    row = store.user_row(_normal(name)) if len(name) <= 100 else None
    if row is None:
        verify_password(password, _DUMMY_HASH)
        return None
    ok = verify_password(password, row.password_hash)
    return _user(row) if ok and not row.disabled else None


# --- API tokens ---------------------------------------------------------------------


def _token_sha256(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def new_token(store: Store, name: str) -> str:
    """A new API token for the user, to show once: only its SHA-256 is stored."""
    row = _row(store, name)
    if row.disabled:
        raise AccountError(f"user '{row.name}' is disabled; a disabled user gets no token")
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    store.insert_token(row.id, _token_sha256(token), _now())
    return token


def revoke_tokens(store: Store, name: str) -> int:
    """Revoke all the user's API tokens; returns how many were still valid."""
    return store.revoke_user_tokens(_row(store, name).id, _now())


def user_for_token(store: Store, token: str) -> User | None:
    """The user an API token belongs to, its last use noted; None for an unknown or
    revoked token, or a disabled user."""
    if not token.startswith(TOKEN_PREFIX) or len(token) > 200:
        return None
    row = store.user_for_token_sha256(_token_sha256(token), _now())
    return _user(row) if row else None


# --- login attempts -----------------------------------------------------------------


def record_login(store: Store, name: str, ip: str, ok: bool) -> None:
    """Note a login attempt (the name as typed, normalised and cut to 100 characters)."""
    now = utc_now()
    forget = to_iso(now - timedelta(days=LOGIN_ATTEMPTS_KEPT_DAYS))
    store.insert_login_attempt(to_iso(now), _normal(name)[:100], ip[:100], ok, forget)


def login_blocked(store: Store, name: str, ip: str) -> bool:
    """Whether a login as ``name`` from ``ip`` is refused now: ``MAX_FAILED_LOGINS``
    failures or more for that name, or from that address, in the last
    ``LOGIN_WINDOW_MINUTES``. A success does not erase failures."""
    since = to_iso(utc_now() - timedelta(minutes=LOGIN_WINDOW_MINUTES))
    by_name, by_ip = store.failed_logins_since(since, _normal(name)[:100], ip[:100])
    return by_name >= MAX_FAILED_LOGINS or by_ip >= MAX_FAILED_LOGINS


# --- audit log ----------------------------------------------------------------------


def audit(store: Store, actor: str, action: str, detail: str = "", ip: str = "") -> None:
    """Append one entry to the audit log (e.g. actor 'maria', action 'user.add')."""
    store.append_audit(_now(), actor, action, detail, ip)


def audit_log(store: Store, limit: int = 200) -> list[AuditEntry]:
    """The latest ``limit`` entries, newest first."""
    return store.audit_entries(limit)
