"""Accounts of the web app (monitor.accounts) and `monitor users`: real SQLite files, the
real command line. scrypt keeps its real cost, so each test makes only a few users."""

from __future__ import annotations

import io
import sqlite3
from pathlib import Path

import pytest

from monitor import accounts
from monitor.accounts import (
    MAX_FAILED_LOGINS,
    AccountError,
    add_user,
    audit,
    audit_log,
    authenticate,
    disable_user,
    get_user,
    hash_password,
    list_users,
    login_blocked,
    new_token,
    record_login,
    revoke_tokens,
    user_for_token,
    verify_password,
)
from monitor.cli import EXIT_OK, EXIT_USAGE, main
from monitor.cli.user_commands import ROLE_CHOICES
from monitor.config import example_config_text
from monitor.store import SCHEMA_VERSION, Store

AGENCIES = ("rsud-sk-lerik", "kota-kupang")
PASSWORD = "kopi susu di oebobo"


@pytest.fixture
def cli(tmp_path: Path, monkeypatch):
    """Run `monitor` with the example config in tmp_path; ``stdin`` is what it reads."""
    (tmp_path / "monitor.toml").write_text(example_config_text(), encoding="utf-8")
    monkeypatch.chdir(tmp_path)

    def run(*args: str, stdin: str = "") -> int:
        monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
        return main(["--config", str(tmp_path / "monitor.toml"), "--db", "m.db", *args])

    return run


# --- passwords ------------------------------------------------------------------------


def test_hashes_are_salted_and_memory_hard_and_verify():
    first, second = hash_password(PASSWORD), hash_password(PASSWORD)
    assert first != second
    assert first.startswith("scrypt$32768$8$1$") and len(first.split("$")) == 6
    assert verify_password(PASSWORD, first) and verify_password(PASSWORD, second)
    assert not verify_password(PASSWORD + "!", first)
    assert not verify_password("", first)


@pytest.mark.parametrize(
    "stored",
    [
        "",
        "plain text",
        "scrypt$32768$8$1$salt",
        "bcrypt$32768$8$1$AAAA$AAAA",
        "scrypt$x$8$1$AAAAAAAAAAAAAAAAAAAAAA==$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
        "scrypt$32768$8$1$!!!$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
        "scrypt$33$8$1$AAAAAAAAAAAAAAAAAAAAAA==$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
        "scrypt$1073741824$8$1$AAAAAAAAAAAAAAAAAAAAAA==$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
        "scrypt$32768$8$1$AAAAAAAAAAAAAAAAAAAAAA==$AAAA",
    ],
)
def test_a_malformed_stored_hash_never_verifies(stored):
    assert verify_password(PASSWORD, stored) is False


# --- users ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name, role, password, agency, expected",
    [
        ("maria", "ombudsman", "pendek", None, "at least 12"),
        ("maria", "ombudsman", "a" * 20, None, "repeats one character"),
        ("Maria", "ombudsman", PASSWORD, None, "lower case: 'maria'"),
        ("ma", "ombudsman", PASSWORD, None, "3 to 40 characters"),
        ("maria asisten", "ombudsman", PASSWORD, None, "not allowed"),
        ("maria", "admin", PASSWORD, None, "unknown role 'admin'"),
        ("maria", "ombudsman", PASSWORD, "rsud-sk-lerik", "takes no agency"),
        ("budi", "agency", PASSWORD, None, "needs the agency"),
        ("budi", "agency", PASSWORD, "rsud-lain", "not an agency id"),
    ],
)
def test_bad_accounts_are_refused_with_the_reason(store, name, role, password, agency, expected):
    with pytest.raises(AccountError, match=expected):
        add_user(store, name, role, password, agency, AGENCIES)
    assert list_users(store) == []


def test_users_roles_and_what_they_see(store):
    staff = add_user(store, "maria.asisten", "ombudsman", PASSWORD, agency_ids=AGENCIES)
    budi = add_user(store, "budi", "agency", PASSWORD, "rsud-sk-lerik", AGENCIES)
    assert staff.is_staff and staff.can_see("rsud-sk-lerik") and staff.can_see("kota-kupang")
    assert not budi.is_staff and budi.agency_id == "rsud-sk-lerik"
    assert budi.can_see("rsud-sk-lerik") and not budi.can_see("kota-kupang")
    assert [u.name for u in list_users(store)] == ["budi", "maria.asisten"]
    assert get_user(store, "BUDI ") == budi and get_user(store, "nobody") is None
    assert not hasattr(budi, "password_hash")
    with pytest.raises(AccountError, match="exists already"):
        add_user(store, "budi", "ombudsman", PASSWORD + "x", agency_ids=AGENCIES)


def test_authenticate_and_disable(store, monkeypatch):
    add_user(store, "maria", "ombudsman", PASSWORD)
    assert authenticate(store, "maria", PASSWORD).name == "maria"
    assert authenticate(store, "maria", PASSWORD + " ") is None
    # An unknown name still spends one hash, so its answer takes as long.
    spent = []
    real = accounts.verify_password
    monkeypatch.setattr(accounts, "verify_password", lambda *a: spent.append(1) or real(*a))
    assert authenticate(store, "nobody", PASSWORD) is None
    assert spent == [1]
    # ... against a well-formed hash of the same cost (a malformed one would cost nothing).
    assert accounts._DUMMY_HASH.split("$")[:4] == hash_password("x").split("$")[:4]
    assert len(accounts._DUMMY_HASH) == len(hash_password("x"))
    token = new_token(store, "maria")
    assert user_for_token(store, token).name == "maria"
    user = disable_user(store, "maria")
    assert user.disabled
    assert authenticate(store, "maria", PASSWORD) is None
    assert user_for_token(store, token) is None
    with pytest.raises(AccountError, match="disabled"):
        new_token(store, "maria")
    with pytest.raises(AccountError, match="no user 'nobody'"):
        disable_user(store, "nobody")


def test_tokens_are_stored_only_hashed_and_revoked(tmp_path):
    path = tmp_path / "m.db"
    with Store.open(path) as store:
        add_user(store, "bot", "agency", PASSWORD, "kota-kupang", AGENCIES)
        first, second = new_token(store, "bot"), new_token(store, "bot")
        assert first.startswith("mon_") and len(first) > 40 and first != second
        assert user_for_token(store, first).name == "bot"
        for bad in ("", "mon_", first[:-1], first + "x", "x" * 500, second.upper()):
            assert user_for_token(store, bad) is None
        assert revoke_tokens(store, "bot") == 2
        assert user_for_token(store, first) is None and user_for_token(store, second) is None
        assert revoke_tokens(store, "bot") == 0
        third = new_token(store, "bot")
        assert user_for_token(store, third).name == "bot"
    conn = sqlite3.connect(path)
    [(used,)] = conn.execute("SELECT count(*) FROM api_tokens WHERE last_used_at IS NOT NULL")
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    assert used == 2
    data = b"".join(p.read_bytes() for p in tmp_path.iterdir() if p.name.startswith("m.db"))
    for token in (first, second, third):
        assert token.encode() not in data and token[4:].encode() not in data
    assert PASSWORD.encode() not in data


# --- login attempts -------------------------------------------------------------------


def test_login_blocked_after_failures_per_name_and_per_address(store):
    for _ in range(MAX_FAILED_LOGINS - 1):
        record_login(store, "maria", "10.0.0.1", False)
    record_login(store, "maria", "10.0.0.1", True)  # a success erases nothing
    assert not login_blocked(store, "maria", "10.0.0.1")
    record_login(store, "maria", "10.0.0.9", False)
    assert login_blocked(store, "maria", "10.0.0.2")  # that name, from anywhere
    assert login_blocked(store, "Maria", "10.0.0.2")
    assert not login_blocked(store, "budi", "10.0.0.2")
    assert not login_blocked(store, "budi", "10.0.0.1")  # 4 failures from .1 so far
    for name in ("a1", "a2", "a3", "a4", "a5"):
        record_login(store, name, "10.0.0.7", False)  # one address trying many names
    assert login_blocked(store, "budi", "10.0.0.7")
    assert not login_blocked(store, "budi", "10.0.0.8")
    assert not login_blocked(store, "budi", "")


def test_old_failures_no_longer_count(store, monkeypatch):
    from datetime import timedelta

    from monitor.clock import utc_now

    then = utc_now() - timedelta(minutes=accounts.LOGIN_WINDOW_MINUTES + 1)
    monkeypatch.setattr(accounts, "utc_now", lambda: then)
    for _ in range(MAX_FAILED_LOGINS):
        record_login(store, "maria", "10.0.0.1", False)
    assert login_blocked(store, "maria", "10.0.0.1")  # as it was then
    monkeypatch.undo()
    assert not login_blocked(store, "maria", "10.0.0.1")


def test_the_audit_log_is_append_only_and_newest_first(store):
    audit(store, "maria", "user.add", "budi role=agency", "10.0.0.1")
    audit(store, "web", "login.ok", "budi")
    entries = audit_log(store)
    assert [(e.actor, e.action, e.detail, e.ip) for e in entries] == [
        ("web", "login.ok", "budi", ""),
        ("maria", "user.add", "budi role=agency", "10.0.0.1"),
    ]
    assert entries[0].at.endswith("Z") and len(audit_log(store, limit=1)) == 1
    conn = sqlite3.connect(store.path)
    for statement in ("UPDATE audit_log SET actor = 'x'", "DELETE FROM audit_log"):
        with pytest.raises(sqlite3.IntegrityError, match="append-only"):
            conn.execute(statement)
    conn.close()


# --- schema ---------------------------------------------------------------------------


def test_an_older_database_gains_the_account_tables(tmp_path):
    path = tmp_path / "old.db"
    with Store.open(path):
        pass
    conn = sqlite3.connect(path)
    for table in ("users", "api_tokens", "login_attempts", "audit_log", "case_forwards"):
        conn.execute(f"DROP TABLE {table}")  # triggers go with their table (v11, v12)
    conn.execute("PRAGMA user_version = 10")
    conn.commit()
    conn.close()
    with Store.open(path) as store:
        assert store.schema_version == SCHEMA_VERSION >= 11
        add_user(store, "maria", "ombudsman", PASSWORD)
        assert [u.name for u in list_users(store)] == ["maria"]
    conn = sqlite3.connect(path)
    tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master")}
    conn.close()
    assert {"users", "api_tokens", "login_attempts", "audit_log"} <= tables
    assert {"login_attempts_at", "audit_log_no_update", "audit_log_no_delete"} <= tables


# --- the command line -----------------------------------------------------------------


def test_cli_add_list_token_revoke_disable_with_audit(cli, tmp_path, capsys, monkeypatch):
    monkeypatch.setattr("getpass.getuser", lambda: "operator")
    assert cli("users", "add", "maria", "--role", "ombudsman", "--password-stdin",
               stdin=PASSWORD + "\n") == EXIT_OK  # fmt: skip
    assert cli("users", "add", "budi", "--role", "agency", "--agency", "rsud-sk-lerik",
               "--password-stdin", stdin=PASSWORD + "\r\nsecond line\n") == EXIT_OK  # fmt: skip
    assert "sees agency rsud-sk-lerik only" in capsys.readouterr().out
    assert cli("users", "token", "budi") == EXIT_OK
    out = capsys.readouterr().out.strip().splitlines()
    token = out[-1]
    assert "shown only this once" in out[-2] and token.startswith("mon_")
    assert cli("users") == EXIT_OK
    listing = capsys.readouterr().out.splitlines()
    assert listing[0].split()[:4] == ["name", "role", "agency", "disabled"]
    assert listing[1].split()[:5] == ["budi", "agency", "rsud-sk-lerik", "no", "1"]
    assert listing[2].split()[:5] == ["maria", "ombudsman", "-", "no", "0"]
    with Store.open(tmp_path / "m.db") as store:
        assert authenticate(store, "budi", PASSWORD).agency_id == "rsud-sk-lerik"
        assert user_for_token(store, token).name == "budi"
    assert cli("users", "revoke", "budi") == EXIT_OK
    assert "1 API token(s) of budi revoked" in capsys.readouterr().out
    assert cli("users", "disable", "maria") == EXIT_OK
    with Store.open(tmp_path / "m.db") as store:
        assert user_for_token(store, token) is None
        assert authenticate(store, "maria", PASSWORD) is None
        entries = audit_log(store)
    assert [(e.actor, e.action, e.detail) for e in reversed(entries)] == [
        ("operator", "user.add", "maria role=ombudsman"),
        ("operator", "user.add", "budi role=agency agency=rsud-sk-lerik"),
        ("operator", "token.new", "budi"),
        ("operator", "token.revoke", "budi"),
        ("operator", "user.disable", "maria"),
    ]
    assert token not in "".join(e.detail for e in entries)


@pytest.mark.parametrize(
    "args, stdin, expected",
    [
        (["maria", "--role", "ombudsman"], PASSWORD + "\n", "add --password-stdin"),
        (["maria", "--role", "ombudsman", "--password-stdin"], "", "is empty"),
        (["maria", "--role", "ombudsman", "--password-stdin"], "kurang\n", "at least 12"),
        (["budi", "--role", "agency", "--password-stdin"], PASSWORD, "needs the agency"),
        (
            ["budi", "--role", "agency", "--agency", "rsud-lain", "--password-stdin"],
            PASSWORD,
            "'rsud-lain' is not an agency id",
        ),
    ],
)
def test_cli_add_refusals_exit_2_and_store_nothing(cli, tmp_path, capsys, args, stdin, expected):
    assert cli("users", "add", *args, stdin=stdin) == EXIT_USAGE
    assert expected in capsys.readouterr().err
    assert cli("users", "list") == EXIT_OK
    assert "No users yet" in capsys.readouterr().out


def test_cli_duplicate_and_unknown_users_exit_2(cli, capsys):
    add = ("users", "add", "maria", "--role", "ombudsman", "--password-stdin")
    assert cli(*add, stdin=PASSWORD) == EXIT_OK
    assert cli(*add, stdin=PASSWORD) == EXIT_USAGE
    assert "exists already" in capsys.readouterr().err
    for action in ("token", "revoke", "disable"):
        assert cli("users", action, "nobody") == EXIT_USAGE
        assert "no user 'nobody'" in capsys.readouterr().err


def test_the_parser_offers_the_roles_of_the_library():
    assert ROLE_CHOICES == accounts.ROLES
